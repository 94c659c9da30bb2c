package dev.loraxj.grammar;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.List;

/** Integers in a closed range as decimal text (no leading zeros), and numbers between integer bounds. */
final class Decimals {

    /** The widest an unbounded side goes: 18 digits, as {@link JsonText#INTEGER}. */
    static final BigInteger LIMIT = BigInteger.TEN.pow(18).subtract(BigInteger.ONE);

    private Decimals() {
    }

    /** Integers in [lo, hi]; null bounds are open (to 18 digits). */
    static Rx integers(BigInteger lo, BigInteger hi) {
        BigInteger a = lo == null ? LIMIT.negate() : lo;
        BigInteger b = hi == null ? LIMIT : hi;
        if (a.compareTo(b) > 0) {
            throw new GrammarException("no integer lies between " + a + " and " + b);
        }
        List<Rx> options = new ArrayList<>();
        if (b.signum() >= 0) {
            options.add(nonNegative(a.max(BigInteger.ZERO), b));
        }
        if (a.signum() < 0) {
            BigInteger nlo = b.signum() < 0 ? b.negate() : BigInteger.ONE;
            options.add(Rx.seq(Rx.literal("-"), nonNegative(nlo, a.negate())));
        }
        return Rx.alt(options);
    }

    /**
     * Numbers x with lo <= x <= hi (integer bounds, null for open), with an optional fraction
     * and no exponent: an integer part below the upper bound takes any fraction, the bound itself none.
     */
    static Rx numbers(BigInteger lo, BigInteger hi) {
        BigInteger a = lo == null ? LIMIT.negate() : lo;
        BigInteger b = hi == null ? LIMIT : hi;
        if (a.compareTo(b) > 0) {
            throw new GrammarException("no number lies between " + a + " and " + b);
        }
        Rx frac = Rx.optional(JsonText.FRACTION);
        List<Rx> options = new ArrayList<>();
        if (b.signum() >= 0) {
            BigInteger from = a.max(BigInteger.ZERO);
            if (from.compareTo(b) < 0) {
                options.add(Rx.seq(nonNegative(from, b.subtract(BigInteger.ONE)), frac));
            }
            options.add(Rx.literal(b.toString()));
        }
        if (a.signum() < 0) {
            // -(i.f) >= a needs i < -a (any fraction) or i = -a (none); <= b needs i >= -b when b < 0
            BigInteger from = b.signum() < 0 ? b.negate() : BigInteger.ZERO;
            BigInteger to = a.negate();
            List<Rx> neg = new ArrayList<>();
            if (from.compareTo(to) < 0) {
                neg.add(Rx.seq(nonNegative(from, to.subtract(BigInteger.ONE)), frac));
            }
            neg.add(Rx.literal(to.toString()));
            options.add(Rx.seq(Rx.literal("-"), Rx.alt(neg)));
        }
        return Rx.alt(options);
    }

    /** [a, b] with 0 <= a <= b, split by digit count. */
    private static Rx nonNegative(BigInteger a, BigInteger b) {
        List<Rx> options = new ArrayList<>();
        String sa = a.toString();
        String sb = b.toString();
        for (int len = sa.length(); len <= sb.length(); len++) {
            String lo = len == sa.length() ? sa : "1" + "0".repeat(len - 1);
            String hi = len == sb.length() ? sb : "9".repeat(len);
            if (len == 1 && lo.equals("0")) {
                options.add(sameLength("0", hi));
            } else {
                options.add(sameLength(lo, hi));
            }
        }
        return Rx.alt(options);
    }

    /** Digit strings of one length from lo to hi (lo <= hi as numbers). */
    private static Rx sameLength(String lo, String hi) {
        int n = lo.length();
        if (n == 0) {
            return Rx.EMPTY;
        }
        if (lo.equals("0".repeat(n)) && hi.equals("9".repeat(n))) {
            return new Rx.Repeat(JsonText.DIGIT, n, n); // any n digits: without this the split doubles per digit
        }
        char l = lo.charAt(0);
        char h = hi.charAt(0);
        if (n == 1) {
            return new Rx.Bytes(l, h);
        }
        if (l == h) {
            return Rx.seq(Rx.literal(String.valueOf(l)), sameLength(lo.substring(1), hi.substring(1)));
        }
        String rest = lo.substring(1);
        String top = hi.substring(1);
        List<Rx> options = new ArrayList<>();
        options.add(Rx.seq(Rx.literal(String.valueOf(l)), sameLength(rest, "9".repeat(n - 1))));
        if (l + 1 <= h - 1) {
            options.add(Rx.seq(new Rx.Bytes(l + 1, h - 1), new Rx.Repeat(JsonText.DIGIT, n - 1, n - 1)));
        }
        options.add(Rx.seq(Rx.literal(String.valueOf(h)), sameLength("0".repeat(n - 1), top)));
        return Rx.alt(options);
    }
}
