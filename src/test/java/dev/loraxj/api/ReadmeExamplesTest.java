package dev.loraxj.api;

import dev.loraxj.SharedAssets;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every curl example in README.md, run as written with curl against a server on the bundled
 * defaults (only host and port rewritten). Blocks that need outside services say so in an HTML
 * comment right above them ({@code <!-- not run by ReadmeExamplesTest: ... -->}).
 */
@QuarkusTest
@TestProfile(ReadmeExamplesTest.BundledDefaults.class)
class ReadmeExamplesTest {

    static final String SKIP = "<!-- not run by ReadmeExamplesTest";

    /** application.properties' own defaults; the local root made absolute, as the test's working directory is the project. */
    public static class BundledDefaults implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("loraxj.adapters.local-roots", SharedAssets.root().resolve("adapters/stories260K").toString());
        }
    }

    @TestHTTPResource("/")
    URI base;
    TestClient client;

    @BeforeEach
    void ready() {
        client = new TestClient(base);
        client.awaitReady();
    }

    record Example(int line, String command) {
        @Override
        public String toString() {
            return "README.md:" + line;
        }
    }

    /** The curl commands of the README's bash blocks, each with its continuation lines. */
    static List<Example> examples() throws IOException {
        List<String> lines = Files.readAllLines(Path.of("README.md"), StandardCharsets.UTF_8);
        List<Example> out = new ArrayList<>();
        boolean inBash = false;
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            if (line.startsWith("```")) {
                inBash = !inBash && line.trim().equals("```bash") && !(i > 0 && lines.get(i - 1).startsWith(SKIP));
                continue;
            }
            if (!inBash || !line.trim().startsWith("curl ")) {
                continue;
            }
            int first = i;
            StringBuilder command = new StringBuilder(line);
            while (continues(command.toString()) && i + 1 < lines.size()) {
                command.append('\n').append(lines.get(++i));
            }
            out.add(new Example(first + 1, command.toString()));
        }
        return out;
    }

    /** A trailing backslash, or a single-quoted argument still open (a JSON body over several lines). */
    private static boolean continues(String command) {
        if (command.endsWith("\\")) {
            return true;
        }
        boolean open = false;
        for (char c : command.toCharArray()) {
            if (c == '\'') {
                open = !open;
            }
        }
        return open;
    }

    @Test
    void theReadmeHasItsExamplesAndMarksOnlyTheOnesNeedingOutsideServices() throws IOException {
        List<Example> examples = examples();
        assertTrue(examples.size() >= 15, "the README's examples were found: " + examples.size());
        long marked = Files.readAllLines(Path.of("README.md")).stream().filter(l -> l.startsWith(SKIP)).count();
        assertEquals(3, marked, "only S3/Predibase, the private Hub adapter and runtime LoRA registration (off in the bundled defaults;"
                + " LoraAdapterApiTest runs its calls) need what these tests do not have");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("examples")
    void everyCurlExampleRunsAsWritten(Example example) throws Exception {
        // the status is written last; inserted first, so a trailing comment does not swallow it
        String command = example.command().replace("localhost:8080", base.getHost() + ":" + base.getPort())
                .replaceFirst("curl ", "curl -w '\\\\n%{http_code}' ");
        Process curl = new ProcessBuilder("bash", "-c", command).redirectErrorStream(true).start();
        assertTrue(curl.waitFor(120, TimeUnit.SECONDS), example + " did not finish: " + command);
        String output = new String(curl.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, curl.exitValue(), example + ": curl failed (is curl installed?)\n" + output);
        String status = output.substring(output.lastIndexOf('\n') + 1);
        assertEquals("200", status, example + ":\n" + example.command() + "\n" + output);
    }
}
