package dev.loraxj.adapter;

import dev.loraxj.backend.AdapterFootprint;

/**
 * An adapter whose files are fetched and checked but whose weights are not yet in memory: the store
 * reserves {@link #footprint()} of its budget before {@link #materialize()}, so the budget is never exceeded.
 */
public interface AdapterPlan {

    AdapterFootprint footprint();

    LoadedAdapter materialize();
}
