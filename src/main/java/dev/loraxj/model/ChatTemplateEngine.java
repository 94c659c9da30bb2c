package dev.loraxj.model;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.el.ExtendedSyntaxBuilder;
import com.hubspot.jinjava.el.JinjavaInterpreterResolver;
import com.hubspot.jinjava.el.TruthyTypeConverter;
import com.hubspot.jinjava.el.ext.ExtendedParser;
import com.hubspot.jinjava.interpret.Context;
import com.hubspot.jinjava.interpret.InterpreterFactory;
import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.lib.filter.Filter;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import jinjava.de.odysseus.el.ExpressionFactoryImpl;
import jinjava.de.odysseus.el.misc.NumberOperations;
import jinjava.de.odysseus.el.misc.TypeConverter;
import jinjava.de.odysseus.el.tree.TreeStore;
import jinjava.de.odysseus.el.tree.impl.Builder;
import jinjava.de.odysseus.el.tree.impl.Cache;
import jinjava.de.odysseus.el.tree.impl.Parser;
import jinjava.de.odysseus.el.tree.impl.Parser.ParseException;
import jinjava.de.odysseus.el.tree.impl.Scanner;
import jinjava.de.odysseus.el.tree.impl.Scanner.ScanException;
import jinjava.de.odysseus.el.tree.impl.ast.AstBinary;
import jinjava.de.odysseus.el.tree.impl.ast.AstNode;
import jinjava.de.odysseus.el.tree.impl.ast.AstUnary;
import jinjava.javax.el.CompositeELResolver;
import jinjava.javax.el.ExpressionFactory;

import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.TextStyle;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Jinjava set up to render Hugging Face chat templates as transformers does (Jinja2 with
 * trim_blocks and lstrip_blocks): Python's str methods, string repetition, keys when iterating a
 * dict, {@code {{-}}} trimming, filters binding tighter than operators, {@code not} negating a whole
 * test ({@code not x is defined}), True/False, and the globals transformers adds (raise_exception,
 * strftime_now, its tojson). Known gaps: a literal "}}" closing a nested dict inside {@code {{ }}}
 * ends the tag early (write "} }"), and {@code {{ none }}} prints "" rather than "None".
 */
final class ChatTemplateEngine extends Jinjava {

    /** Most characters a template may output (or build by repetition). */
    static final long MAX_OUTPUT = 16L << 20;

    static final ChatTemplateEngine INSTANCE = new ChatTemplateEngine();

    private final ExpressionFactory pythonExpressions = new ExpressionFactoryImpl(
            new TreeStore(new PythonSyntax(), new Cache(1000)), new TruthyTypeConverter());

    private ChatTemplateEngine() {
        super(JinjavaConfig.newBuilder()
                .withTrimBlocks(true)
                .withLstripBlocks(true)
                .withKeepTrailingNewline(true) // Jinja2 drops the template's last newline, not the output's: ChatTemplate does
                .withFailOnUnknownTokens(false)
                .withNestedInterpretationEnabled(false) // a message's "{{ }}" is text, never template code
                .withInterperterFactory(new PythonPrinting())
                .withMaxOutputSize(MAX_OUTPUT) // a runaway template loop fails instead of filling the heap
                .withLegacyOverrides(LegacyOverrides.newBuilder()
                        .withIterateOverMapKeys(true)
                        .withEvaluateMapKeys(true)
                        .withUseTrimmingForNotesAndExpressions(true)
                        .withUseNaturalOperatorPrecedence(true)
                        .withParseWhitespaceControlStrictly(true)
                        .withKeepNullableLoopValues(true)
                        .withHandleBackslashInQuotesOnly(true)
                        .build())
                .withElResolver(resolver())
                .build());
        getGlobalContext().registerFunction(new ELFunctionDefinition("", "raise_exception",
                ChatTemplateEngine.class, "raiseException", Object.class));
        getGlobalContext().registerFunction(new ELFunctionDefinition("", "strftime_now",
                ChatTemplateEngine.class, "strftimeNow", String.class));
        getGlobalContext().registerFilter(new ToJson());
    }

    private static CompositeELResolver resolver() {
        CompositeELResolver r = new CompositeELResolver();
        r.add(new ChatTemplateStrings());
        r.add(JinjavaInterpreterResolver.DEFAULT_RESOLVER_READ_ONLY);
        return r;
    }

    /** Jinjava reads its expression factory through this getter; ours parses {@code *} as Python does. */
    @Override
    public ExpressionFactory getExpressionFactory() {
        return pythonExpressions;
    }

    /** Prints values as Jinja2 does where Java differs: True and False. */
    private static final class PythonPrinting implements InterpreterFactory {
        @Override
        public JinjavaInterpreter newInstance(JinjavaInterpreter orig) {
            return new JinjavaInterpreter(orig) {
                @Override
                public String getAsString(Object value) {
                    return value instanceof Boolean b ? (b ? "True" : "False") : super.getAsString(value);
                }
            };
        }

        @Override
        public JinjavaInterpreter newInstance(Jinjava application, Context context, JinjavaConfig config) {
            return new JinjavaInterpreter(application, context, config) {
                @Override
                public String getAsString(Object value) {
                    return value instanceof Boolean b ? (b ? "True" : "False") : super.getAsString(value);
                }
            };
        }
    }

    /** transformers' raise_exception: the template refuses the conversation with this message. */
    public static Object raiseException(Object message) {
        throw new ChatTemplateException(String.valueOf(message)); // reaches the client unchanged
    }

    /** transformers' strftime_now: the local time in a Python strftime format. */
    public static String strftimeNow(String format) {
        return strftime(LocalDateTime.now(), format);
    }

    static String strftime(LocalDateTime t, String format) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < format.length(); i++) {
            char c = format.charAt(i);
            if (c != '%' || i + 1 == format.length()) {
                sb.append(c);
                continue;
            }
            char d = format.charAt(++i);
            boolean unpadded = d == '-' && i + 1 < format.length();
            if (unpadded) {
                d = format.charAt(++i);
            }
            String two = unpadded ? "%d" : "%02d";
            sb.append(switch (d) {
                case 'd' -> String.format(Locale.ROOT, two, t.getDayOfMonth());
                case 'e' -> String.format(Locale.ROOT, "%2d", t.getDayOfMonth());
                case 'm' -> String.format(Locale.ROOT, two, t.getMonthValue());
                case 'Y' -> String.valueOf(t.getYear());
                case 'y' -> String.format(Locale.ROOT, "%02d", t.getYear() % 100);
                case 'H' -> String.format(Locale.ROOT, two, t.getHour());
                case 'I' -> String.format(Locale.ROOT, two, (t.getHour() + 11) % 12 + 1);
                case 'M' -> String.format(Locale.ROOT, two, t.getMinute());
                case 'S' -> String.format(Locale.ROOT, two, t.getSecond());
                case 'f' -> String.format(Locale.ROOT, "%06d", t.getNano() / 1000);
                case 'p' -> t.getHour() < 12 ? "AM" : "PM";
                case 'j' -> String.format(Locale.ROOT, unpadded ? "%d" : "%03d", t.getDayOfYear());
                case 'a' -> t.getDayOfWeek().getDisplayName(TextStyle.SHORT, Locale.ENGLISH);
                case 'A' -> t.getDayOfWeek().getDisplayName(TextStyle.FULL, Locale.ENGLISH);
                case 'w' -> String.valueOf(t.getDayOfWeek().getValue() % 7);
                case 'b', 'h' -> t.getMonth().getDisplayName(TextStyle.SHORT, Locale.ENGLISH);
                case 'B' -> t.getMonth().getDisplayName(TextStyle.FULL, Locale.ENGLISH);
                case 'x' -> t.format(DateTimeFormatter.ofPattern("MM/dd/yy", Locale.ENGLISH));
                case 'X' -> t.format(DateTimeFormatter.ofPattern("HH:mm:ss", Locale.ENGLISH));
                case 'c' -> t.format(DateTimeFormatter.ofPattern("EEE MMM ppd HH:mm:ss yyyy", Locale.ENGLISH));
                case 'z', 'Z' -> "";
                case '%' -> "%";
                default -> "%" + (unpadded ? "-" : "") + d;
            });
        }
        return sb.toString();
    }

    /** transformers' tojson (Python json.dumps), replacing Jinjava's compact one. */
    static final class ToJson implements Filter {
        @Override
        public String getName() {
            return "tojson";
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
            Integer indent = args.length > 0 && args[0] != null ? Integer.valueOf(args[0].trim()) : null;
            return ChatTemplateJson.dumps(var, indent);
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
            Object indent = kwargs.getOrDefault("indent", args.length > 0 ? args[0] : null);
            return ChatTemplateJson.dumps(var, indent instanceof Number n ? Integer.valueOf(n.intValue()) : null);
        }
    }

    /** Jinjava's syntax with Python's {@code *}: a string or list times an integer repeats it. */
    private static final class PythonSyntax extends ExtendedSyntaxBuilder {
        PythonSyntax() {
            super(Builder.Feature.METHOD_INVOCATIONS, Builder.Feature.VARARGS);
        }

        @Override
        protected Parser createParser(String expression) {
            return new ExtendedParser(this, expression) {
                @Override
                protected AstBinary createAstBinary(AstNode left, AstNode right, AstBinary.Operator operator) {
                    return super.createAstBinary(left, right, operator == AstBinary.MUL ? REPEAT : operator);
                }

                /** Jinja's {@code not} negates a whole comparison or test: not x is defined, not a == b. */
                @Override
                protected AstNode eq(boolean required) throws ScanException, ParseException {
                    if (getToken().getSymbol() == Scanner.Symbol.NOT) {
                        consumeToken();
                        return createAstUnary(eq(true), AstUnary.NOT);
                    }
                    return super.eq(required);
                }
            };
        }
    }

    private static final AstBinary.Operator REPEAT = new AstBinary.SimpleOperator() {
        @Override
        protected Object apply(TypeConverter converter, Object a, Object b) {
            if (a instanceof Number n && !(b instanceof Number)) {
                return repeat(b, n, converter, a);
            }
            if (b instanceof Number n && !(a instanceof Number)) {
                return repeat(a, n, converter, b);
            }
            return NumberOperations.mul(converter, a, b);
        }

        private Object repeat(Object seq, Number times, TypeConverter converter, Object original) {
            if (!ChatTemplateStrings.integral(times)) {
                return seq instanceof Number ? NumberOperations.mul(converter, seq, original) : fail(seq);
            }
            int n = Math.max(0, times.intValue());
            long size = seq instanceof String s ? s.length() : seq instanceof Collection<?> c ? c.size() : 0;
            if (size * n > MAX_OUTPUT) {
                throw new ChatTemplateException("repeating a sequence " + n + " times exceeds " + MAX_OUTPUT + " items");
            }
            if (seq instanceof String s) {
                return s.repeat(n);
            }
            if (seq instanceof Collection<?> c) {
                List<Object> out = new ArrayList<>(c.size() * n);
                for (int i = 0; i < n; i++) {
                    out.addAll(c);
                }
                return out;
            }
            return NumberOperations.mul(converter, seq, original);
        }

        private Object fail(Object seq) {
            throw new ChatTemplateException("can't multiply sequence " + seq + " by non-int");
        }

        @Override
        public String toString() {
            return "*";
        }
    };
}
