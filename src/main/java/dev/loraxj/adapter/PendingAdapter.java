package dev.loraxj.adapter;

import dev.loraxj.backend.AdapterFootprint;

/**
 * An adapter fetched and checked, waiting for memory: its weights are not read yet, but what the
 * backend will hold for them is known, so the store reserves {@link #footprint()} of its budget
 * before {@link #materialize()}, and the budget is never exceeded.
 */
public interface PendingAdapter {

    AdapterFootprint footprint();

    LoadedAdapter materialize();
}
