package dev.loraxj.engine;

/** What a running sequence tells its listener, in order: Token* then Finished. */
public sealed interface TokenEvent {

    TokenInfo token();

    /** A generated token that is not the last. */
    record Token(TokenInfo token) implements TokenEvent {
    }

    /** The last generated token and the whole result. */
    record Finished(TokenInfo token, Generation generation) implements TokenEvent {
    }
}
