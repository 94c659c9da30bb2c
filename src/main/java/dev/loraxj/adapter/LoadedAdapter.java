package dev.loraxj.adapter;

import dev.loraxj.backend.LoraAdapter;

/** An adapter in memory: what the backend applies, and what the store accounts for. */
public interface LoadedAdapter {

    /** The LoRA updates; null for an adapter that carries none. */
    LoraAdapter lora();

    long bytes();

    /** A short description for listings ("lora r=4 q,v,o"). */
    String description();
}
