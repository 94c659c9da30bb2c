package dev.loraxj.engine;

/**
 * Receives a sequence's events on the engine thread. Implementations hand the work off quickly
 * (to an event loop) and never block: the whole batch waits on them.
 */
public interface SequenceListener {

    void onEvent(TokenEvent event);

    /** The sequence failed; no further events follow. */
    void onError(Throwable error);
}
