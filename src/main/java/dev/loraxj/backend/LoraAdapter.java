package dev.loraxj.backend;


/** What the backend needs of a loaded adapter: its low-rank updates by layer and module. */
public interface LoraAdapter {

    /** The update of {@code module} in {@code layer}, or null where the adapter leaves it alone. */
    LoraMatrix matrix(int layer, Module module);
}
