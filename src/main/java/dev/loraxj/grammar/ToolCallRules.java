package dev.loraxj.grammar;

import java.util.ArrayList;
import java.util.List;

/** Tool calls in {@link ToolCallFormat} as grammar rules, each call's arguments held to its function's schema. */
final class ToolCallRules {

    private ToolCallRules() {
    }

    static Rules of(ConstraintSpec.ToolCalls spec) {
        Rules rules = new Rules();
        List<Rx> calls = new ArrayList<>();
        for (ConstraintSpec.Function f : spec.functions()) {
            if (spec.choice() == ConstraintSpec.ToolChoice.NAMED && !f.name().equals(spec.named())) {
                continue;
            }
            Rx arguments = JsonSchemaRules.value(rules, f.parameters());
            Rx json = Rx.seq(Rx.literal("{"), JsonText.WS, JsonText.quoted("name"), JsonSchemaRules.COLON, JsonText.quoted(f.name()),
                    JsonSchemaRules.SEPARATOR, JsonText.quoted("arguments"), JsonSchemaRules.COLON, arguments, JsonText.WS, Rx.literal("}"));
            calls.add(Rx.seq(Rx.literal(ToolCallFormat.OPEN), JsonText.WS, json, JsonText.WS, Rx.literal(ToolCallFormat.CLOSE)));
        }
        if (calls.isEmpty()) {
            throw new GrammarException(spec.choice() == ConstraintSpec.ToolChoice.NAMED
                    ? "`tool_choice` names `" + spec.named() + "`, which is not among `tools`" : "`tools` is empty");
        }
        Rx call = new Rx.Call(rules.rule(Rx.alt(calls)));
        Rx block = spec.parallel() ? Rx.seq(call, Rx.star(Rx.seq(Rx.literal("\n"), call))) : call;
        rules.start(spec.choice() == ConstraintSpec.ToolChoice.AUTO
                ? Rx.seq(new Rx.Avoid(ToolCallFormat.OPEN), Rx.optional(block))
                : Rx.seq(JsonText.WS, block));
        return rules;
    }
}
