package dev.loraxj.service;

import java.util.List;

/** LoRAX's {@code parameters.merged_adapters}, as sent. */
public record MergedAdapters(List<String> ids, List<Float> weights, String mergeStrategy, Float density,
                             String majoritySignMethod) {
}
