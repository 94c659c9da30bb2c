package dev.loraxj.api;

import dev.loraxj.model.PackedCheckpoints.Format;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;

/** GPTQ, asymmetric, act order with a shuffled g_idx, groups of 32: served over HTTP as its dequantized F32 twin would be. */
@QuarkusTest
@TestProfile(GptqApiTest.Profile.class)
class GptqApiTest extends PreQuantizedApiTest {

    static final Format FORMAT = Format.gptq(32, false, true);

    public static class Profile extends Served {
        @Override
        Fixture fixture() {
            return Fixture.of("gptq", FORMAT);
        }
    }

    @Override
    Fixture fixture() {
        return Fixture.of("gptq", FORMAT);
    }

    @Override
    Format format() {
        return FORMAT;
    }
}
