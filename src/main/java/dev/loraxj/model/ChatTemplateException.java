package dev.loraxj.model;

/**
 * A chat template that cannot render these messages: the template's own raise_exception (whose
 * message is kept as is), a syntax error, or no template at all. The caller's request is at fault,
 * or the model's template is: either way the message says which.
 */
public class ChatTemplateException extends RuntimeException {
    public ChatTemplateException(String message) {
        super(message);
    }
}
