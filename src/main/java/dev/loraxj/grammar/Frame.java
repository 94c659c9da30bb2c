package dev.loraxj.grammar;

/**
 * One stack of a running grammar, as a persistent list: the top frame's state and, below it, the
 * states its callers return to. {@link #BOTTOM} stands for callers not known (a mask computed for
 * a state alone); a null parent means the start rule, whose end is the end of the output.
 */
record Frame(int state, Frame parent) {

    static final Frame BOTTOM = new Frame(-1, null);
}
