package dev.loraxj.bench;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Reads the Prometheus text format (0.0.4) into metric families the way the endpoint picker's
 * parser (Go's expfmt.TextParser with legacy name validation) does, failing where it fails: names
 * outside the legacy character sets, a second TYPE line for a name, or one after its samples. Hand-written because nothing on the classpath parses this format (Prometheus's
 * Java libraries only write it).
 */
public final class PrometheusText {

    public static final Pattern METRIC_NAME = Pattern.compile("[a-zA-Z_:][a-zA-Z0-9_:]*");
    public static final Pattern LABEL_NAME = Pattern.compile("[a-zA-Z_][a-zA-Z0-9_]*");

    /** One sample: its full name (a histogram's carry _bucket, _sum, _count), labels in order, value. */
    public record Sample(String name, Map<String, String> labels, double value) {
    }

    /** A family as the TYPE line declares it ("untyped" without one). */
    public record Family(String name, String type, List<Sample> samples) {
    }

    private PrometheusText() {
    }

    /** Every family, by name. */
    public static Map<String, Family> parse(String text) {
        Map<String, Family> out = new LinkedHashMap<>();
        Map<String, String> types = new LinkedHashMap<>();
        String current = null;
        int lineNo = 0;
        for (String line : text.split("\n", -1)) {
            lineNo++;
            if (line.isBlank()) {
                continue;
            }
            if (line.startsWith("#")) {
                String[] parts = line.split("[ \t]+", 4);
                if (parts.length >= 3 && (parts[1].equals("TYPE") || parts[1].equals("HELP"))) {
                    String name = parts[2];
                    require(METRIC_NAME.matcher(name).matches(), lineNo, "invalid metric name " + name);
                    if (parts[1].equals("TYPE")) {
                        require(parts.length == 4, lineNo, "TYPE without a type");
                        require(!types.containsKey(name), lineNo, "second TYPE line for metric name " + name);
                        require(!out.containsKey(name), lineNo, "TYPE line for " + name + " after its samples");
                        types.put(name, parts[3].strip());
                    }
                    current = name;
                }
                continue;
            }
            Sample s = sample(line, lineNo);
            String family = familyOf(s.name(), current, types);
            Family f = out.get(family);
            if (f == null) {
                f = new Family(family, types.getOrDefault(family, "untyped"), new ArrayList<>());
                out.put(family, f);
            }
            f.samples().add(s);
            current = family;
        }
        return out;
    }

    /** The family a sample belongs to: a summary's or histogram's suffixed samples go to the declared family. */
    private static String familyOf(String sample, String current, Map<String, String> types) {
        if (current != null && !sample.equals(current) && sample.startsWith(current)) {
            String type = types.get(current);
            String suffix = sample.substring(current.length());
            if (("histogram".equals(type) && (suffix.equals("_bucket") || suffix.equals("_sum") || suffix.equals("_count")))
                    || ("summary".equals(type) && (suffix.equals("_sum") || suffix.equals("_count")))) {
                return current;
            }
        }
        return sample;
    }

    private static Sample sample(String line, int lineNo) {
        int i = 0;
        while (i < line.length() && line.charAt(i) != '{' && line.charAt(i) != ' ' && line.charAt(i) != '\t') {
            i++;
        }
        String name = line.substring(0, i);
        require(METRIC_NAME.matcher(name).matches(), lineNo, "invalid metric name " + name);
        Map<String, String> labels = new LinkedHashMap<>();
        if (i < line.length() && line.charAt(i) == '{') {
            i++;
            while (true) {
                while (line.charAt(i) == ' ' || line.charAt(i) == ',') {
                    i++;
                }
                if (line.charAt(i) == '}') {
                    i++;
                    break;
                }
                int eq = line.indexOf('=', i);
                require(eq > i, lineNo, "label without a value");
                String label = line.substring(i, eq).strip();
                require(LABEL_NAME.matcher(label).matches(), lineNo, "invalid label name " + label);
                require(line.charAt(eq + 1) == '"', lineNo, "label value not quoted");
                StringBuilder v = new StringBuilder();
                int j = eq + 2;
                for (; line.charAt(j) != '"'; j++) {
                    char c = line.charAt(j);
                    if (c == '\\') {
                        char e = line.charAt(++j);
                        switch (e) {
                            case '\\' -> v.append('\\');
                            case '"' -> v.append('"');
                            case 'n' -> v.append('\n');
                            default -> throw new IllegalArgumentException("line " + lineNo + ": invalid escape \\" + e);
                        }
                    } else {
                        v.append(c);
                    }
                }
                require(labels.put(label, v.toString()) == null, lineNo, "duplicate label " + label);
                i = j + 1;
            }
        }
        String[] rest = line.substring(i).strip().split("[ \t]+");
        require(rest.length == 1 || rest.length == 2, lineNo, "expected a value and an optional timestamp");
        return new Sample(name, labels, value(rest[0], lineNo));
    }

    private static double value(String v, int lineNo) {
        return switch (v) {
            case "+Inf" -> Double.POSITIVE_INFINITY;
            case "-Inf" -> Double.NEGATIVE_INFINITY;
            case "NaN" -> Double.NaN;
            default -> {
                try {
                    yield Double.parseDouble(v);
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("line " + lineNo + ": invalid value " + v);
                }
            }
        };
    }

    private static void require(boolean ok, int lineNo, String what) {
        if (!ok) {
            throw new IllegalArgumentException("line " + lineNo + ": " + what);
        }
    }
}
