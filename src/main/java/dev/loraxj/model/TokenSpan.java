package dev.loraxj.model;

/**
 * One token of a tokenized text, as LoRAX's {@code POST /tokenize} returns it.
 *
 * @param id    the token id
 * @param text  the token's vocabulary string (id_to_token, e.g. {@code ▁Once} or {@code <0xE4>})
 * @param start offset of the token's first character in the input, counted in Unicode code points
 *              (0 for special tokens added by the post-processor)
 * @param stop  offset just past the token's last character, in code points
 */
public record TokenSpan(int id, String text, int start, int stop) {
}
