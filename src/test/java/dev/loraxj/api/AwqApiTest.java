package dev.loraxj.api;

import dev.loraxj.model.PackedCheckpoints.Format;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;

/** AWQ GEMM, groups of 32: served over HTTP as its dequantized F32 twin would be. */
@QuarkusTest
@TestProfile(AwqApiTest.Profile.class)
class AwqApiTest extends PreQuantizedApiTest {

    static final Format FORMAT = Format.awq(32);

    public static class Profile extends Served {
        @Override
        Fixture fixture() {
            return Fixture.of("awq", FORMAT);
        }
    }

    @Override
    Fixture fixture() {
        return Fixture.of("awq", FORMAT);
    }

    @Override
    Format format() {
        return FORMAT;
    }
}
