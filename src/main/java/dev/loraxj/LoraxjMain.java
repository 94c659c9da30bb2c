package dev.loraxj;

import io.quarkus.runtime.Quarkus;
import io.quarkus.runtime.annotations.QuarkusMain;

/** Starts the server, or with {@code bench} as the first argument runs the benchmark instead. */
@QuarkusMain
public class LoraxjMain {

    public static void main(String... args) throws Exception {
        if (args.length > 0 && args[0].equals("bench")) {
            dev.loraxj.bench.Bench.main(java.util.Arrays.copyOfRange(args, 1, args.length));
            return;
        }
        Quarkus.run(args);
    }
}
