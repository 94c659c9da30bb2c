package dev.loraxj.grammar;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A grammar being built: rules numbered from 0, each with an {@link Rx} body that may call others.
 * Rule 0 is the start and nothing calls it. Equal bodies share one rule.
 */
final class Rules {

    private final List<Rx> bodies = new ArrayList<>();
    private final Map<Rx, Integer> byBody = new HashMap<>();

    Rules() {
        bodies.add(null); // rule 0, the start, defined last
    }

    /** A rule number for a body still being built (a recursive reference); {@link #define} it later. */
    int reserve() {
        bodies.add(null);
        return bodies.size() - 1;
    }

    void define(int rule, Rx body) {
        if (bodies.get(rule) != null) {
            throw new IllegalStateException("rule " + rule + " is already defined");
        }
        bodies.set(rule, body);
    }

    /** The rule whose body is {@code body}, made once. */
    int rule(Rx body) {
        Integer id = byBody.get(body);
        if (id == null) {
            id = reserve();
            bodies.set(id, body);
            byBody.put(body, id);
        }
        return id;
    }

    void start(Rx body) {
        define(0, body);
    }

    int size() {
        return bodies.size();
    }

    Rx body(int rule) {
        Rx body = bodies.get(rule);
        if (body == null) {
            throw new IllegalStateException("rule " + rule + " was reserved but never defined");
        }
        return body;
    }
}
