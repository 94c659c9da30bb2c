package dev.loraxj.grammar;

/** Compiles what a request asks for ({@link ConstraintSpec}) into a {@link Grammar} for a vocabulary. */
public final class Grammars {

    private Grammars() {
    }

    /**
     * Checks a constraint at once, without compiling it against the vocabulary (cheap: unsupported
     * keywords, bad patterns and refused shapes throw {@link GrammarException} here).
     */
    public static void check(ConstraintSpec spec) {
        rules(spec);
    }

    /** The whole compilation (off the engine thread: tens of milliseconds to seconds for large schemas and vocabularies). */
    public static Grammar compile(ConstraintSpec spec, TokenVocabulary vocab) {
        return Grammar.compile(rules(spec), vocab, describe(spec));
    }

    static Rules rules(ConstraintSpec spec) {
        return switch (spec) {
            case ConstraintSpec.JsonSchema j -> JsonSchemaRules.of(j.schema());
            case ConstraintSpec.Regex r -> {
                Rules rules = new Rules();
                rules.start(RegexParser.whole(r.pattern(), CodePoints::utf8, "`regex`"));
                yield rules;
            }
            case ConstraintSpec.ToolCalls t -> ToolCallRules.of(t);
        };
    }

    static String describe(ConstraintSpec spec) {
        return switch (spec) {
            case ConstraintSpec.JsonSchema j -> j.schema() == null ? "JSON object" : "JSON schema";
            case ConstraintSpec.Regex r -> "regex";
            case ConstraintSpec.ToolCalls t -> "tool call format";
        };
    }
}
