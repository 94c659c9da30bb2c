package dev.loraxj.service;

import dev.loraxj.backend.MedusaHeads;

/** The server's Medusa speculation: its default heads and how many tokens each step proposes. */
public record Speculation(MedusaHeads defaultHeads, int tokens, int maxBatchSize) {
}
