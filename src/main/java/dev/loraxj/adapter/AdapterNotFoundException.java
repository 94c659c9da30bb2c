package dev.loraxj.adapter;

/** The adapter itself is not there (no such directory, repo, prefix or bucket): OpenAI's 404. */
public class AdapterNotFoundException extends AdapterException {
    public AdapterNotFoundException(String message) {
        super(message);
    }
}
