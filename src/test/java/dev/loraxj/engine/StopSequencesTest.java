package dev.loraxj.engine;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class StopSequencesTest {

    @Test
    void matchesAcrossTokenBoundaries() {
        StopSequences stops = new StopSequences(List.of("a b"));
        assertEquals(-1, stops.append("a"));
        assertEquals(0, stops.append(" b"));
    }

    @Test
    void matchesAStopSpreadOverManyPieces() {
        StopSequences stops = new StopSequences(List.of("</end>"));
        for (String piece : new String[]{"x <", "/", "e", "n", "d"}) {
            assertEquals(-1, stops.append(piece));
        }
        assertEquals(0, stops.append(">"));
    }

    @Test
    void matchesAStopInsideOnePiece() {
        StopSequences stops = new StopSequences(List.of("."));
        assertEquals(-1, stops.append("Hello"));
        assertEquals(0, stops.append(" world. And"));
    }

    @Test
    void returnsTheIndexOfTheStopThatMatched() {
        StopSequences stops = new StopSequences(List.of("cat", "dog", "bird"));
        assertEquals(-1, stops.append("the b"));
        assertEquals(2, stops.append("ird"));
    }

    @Test
    void whenTwoStopsMatchTheOneEndingFirstWins() {
        StopSequences stops = new StopSequences(List.of("world", "lo w"));
        assertEquals(1, stops.append("hello world"));
        StopSequences tie = new StopSequences(List.of("b", "ab"));
        assertEquals(0, tie.append("xab"), "both end at the same place: the lower index");
    }

    @Test
    void matchesStopsWithCharactersOutsideTheBmp() {
        StopSequences stops = new StopSequences(List.of("😀!"));
        assertEquals(-1, stops.append("hi 😀"));
        assertEquals(0, stops.append("!"));
    }

    @Test
    void noStopsNeverMatch() {
        StopSequences stops = new StopSequences(List.of());
        assertEquals(-1, stops.append("anything at all"));
    }

    @Test
    void keepsOnlyABoundedTail() {
        StopSequences stops = new StopSequences(List.of("###", "stop here"));
        for (int i = 0; i < 10_000; i++) {
            assertEquals(-1, stops.append("some text, "));
        }
        assertTrue(stops.retained() <= "stop here".length() - 1, "retained " + stops.retained());
        assertEquals(-1, stops.append("stop h"));
        assertEquals(1, stops.append("ere"));
    }

    @Test
    void anEmptyStopMatchesAtOnceAsLoraxsRegexDoes() {
        assertEquals(0, new StopSequences(List.of("")).append("x"));
    }
}
