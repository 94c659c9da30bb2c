package dev.loraxj.api;

import java.util.List;

/**
 * OpenAI's stop semantics over the engine's text: the stop sequence and anything after it are not
 * returned (the engine, like LoRAX, includes them). Streaming holds back a tail that could still
 * become a stop sequence, so the streamed pieces always concatenate to the whole response's text.
 * One per choice; not thread-safe (each exchange writes on its own event loop).
 */
final class OpenaiStopText {

    private final List<String> stops;
    private final StringBuilder pending = new StringBuilder();

    OpenaiStopText(List<String> stops) {
        this.stops = stops;
    }

    /** Adds a generated piece; returns the text now safe to send (possibly ""). */
    String push(String piece) {
        pending.append(piece);
        if (stops.isEmpty()) {
            return take(pending.length());
        }
        int cut = cut(pending);
        if (cut >= 0) {
            return ""; // the engine ends the sequence on this stop; finish() sends what precedes it
        }
        return take(pending.length() - heldBack(pending));
    }

    /** The rest at the end of the sequence: everything held, cut before a stop sequence if one is there. */
    String finish(String lastPiece, boolean stoppedBySequence) {
        pending.append(lastPiece);
        int cut = stoppedBySequence ? cut(pending) : -1;
        String rest = cut >= 0 ? pending.substring(0, cut) : pending.toString();
        pending.setLength(0);
        return rest;
    }

    /** A whole response's text without the stop sequence that ended it. */
    static String trim(String text, List<String> stops) {
        int cut = new OpenaiStopText(stops).cut(text);
        return cut >= 0 ? text.substring(0, cut) : text;
    }

    private String take(int n) {
        String out = pending.substring(0, n);
        pending.delete(0, n);
        return out;
    }

    /** Where the stop that the engine saw first (the match that ends first) begins; -1 if none. */
    private int cut(CharSequence text) {
        String s = text.toString();
        int bestStart = -1;
        int bestEnd = Integer.MAX_VALUE;
        for (String stop : stops) {
            int at = s.indexOf(stop);
            if (at >= 0 && at + stop.length() < bestEnd) {
                bestStart = at;
                bestEnd = at + stop.length();
            }
        }
        return bestStart;
    }

    /** Length of the longest tail of {@code text} that is a proper prefix of some stop sequence. */
    private int heldBack(CharSequence text) {
        int held = 0;
        for (String stop : stops) {
            for (int k = Math.min(stop.length() - 1, text.length()); k > held; k--) {
                if (endsWith(text, stop, k)) {
                    held = k;
                    break;
                }
            }
        }
        return held;
    }

    private static boolean endsWith(CharSequence text, String stop, int k) {
        int from = text.length() - k;
        for (int i = 0; i < k; i++) {
            if (text.charAt(from + i) != stop.charAt(i)) {
                return false;
            }
        }
        return true;
    }
}
