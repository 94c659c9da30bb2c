package dev.loraxj.api;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** OpenAI's stop semantics over streamed pieces: nothing of the stop is ever sent. */
class OpenaiStopTextTest {

    @Test
    void aPossibleStopIsHeldBackUntilItCannotBeOne() {
        OpenaiStopText t = new OpenaiStopText(List.of("END"));
        assertEquals("ab", t.push("abE"));
        assertEquals("", t.push("N"));
        assertEquals("ENx", t.push("x"), "not the stop after all: the held text goes out");
        assertEquals("y", t.finish("y", false));
    }

    @Test
    void theStopAndWhatFollowsItAreCut() {
        OpenaiStopText t = new OpenaiStopText(List.of("END", "zz"));
        assertEquals("a", t.push("aE"));
        assertEquals("Eb", t.finish("bENDc", true), "the held E was not the stop: it goes out, the stop and what follows do not");
        assertEquals("ab", OpenaiStopText.trim("abENDcd", List.of("END")));
        assertEquals("x", OpenaiStopText.trim("xzzEND", List.of("END", "zz")), "the stop whose match ends first wins");
    }

    @Test
    void piecesConcatenateToTheTrimmedWholeText() {
        List<String> stops = List.of("d Li", "!");
        String whole = " named Lily. She";
        String[] pieces = {" n", "amed", " L", "ily", ".", " She"};
        OpenaiStopText t = new OpenaiStopText(stops);
        StringBuilder sent = new StringBuilder();
        for (int i = 0; i < 3; i++) {
            sent.append(t.push(pieces[i]));
        }
        sent.append(t.finish(pieces[3], true));
        assertEquals(OpenaiStopText.trim(whole, stops), sent.toString());
        assertEquals(" name", sent.toString());
    }

    @Test
    void withoutStopsEverythingGoesOutAtOnce() {
        OpenaiStopText t = new OpenaiStopText(List.of());
        assertEquals("abc", t.push("abc"));
        assertEquals("d", t.finish("d", false));
    }
}
