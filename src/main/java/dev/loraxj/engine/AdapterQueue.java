package dev.loraxj.engine;

import java.util.ArrayDeque;

/** The waiting sequences of one adapter (or of the base model), and its place in the active set. */
final class AdapterQueue {

    final Object key;
    final ArrayDeque<Sequence> waiting = new ArrayDeque<>();
    int running;
    boolean active;
    boolean pending;
    long activatedAt;

    AdapterQueue(Object key) {
        this.key = key;
    }

    /** The oldest waiting sequence whose gate has opened, or null. */
    Sequence firstReady() {
        for (Sequence s : waiting) {
            if (s.gateOpen()) {
                return s;
            }
        }
        return null;
    }

    boolean idle() {
        return running == 0 && waiting.isEmpty();
    }
}
