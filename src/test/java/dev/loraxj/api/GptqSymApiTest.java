package dev.loraxj.api;

import dev.loraxj.model.PackedCheckpoints.Format;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;

/** GPTQ, symmetric, one group per row: served over HTTP as its dequantized F32 twin would be. */
@QuarkusTest
@TestProfile(GptqSymApiTest.Profile.class)
class GptqSymApiTest extends PreQuantizedApiTest {

    static final Format FORMAT = Format.gptq(-1, true, false);

    public static class Profile extends Served {
        @Override
        Fixture fixture() {
            return Fixture.of("gptqsym", FORMAT);
        }
    }

    @Override
    Fixture fixture() {
        return Fixture.of("gptqsym", FORMAT);
    }

    @Override
    Format format() {
        return FORMAT;
    }
}
