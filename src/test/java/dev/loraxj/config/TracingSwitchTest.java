package dev.loraxj.config;

import io.smallrye.config.PropertiesConfigSource;
import io.smallrye.config.SmallRyeConfig;
import io.smallrye.config.SmallRyeConfigBuilder;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Tracing is off unless an OTLP endpoint is configured; an explicit sdk.disabled wins. */
class TracingSwitchTest {

    private static String sdkDisabled(Map<String, String> set) {
        SmallRyeConfig config = new SmallRyeConfigBuilder()
                .withInterceptors(new TracingSwitch())
                // Quarkus's own defaults, as its OTel extension registers them
                .withDefaultValue(TracingSwitch.SDK_DISABLED, "false")
                .withDefaultValue(TracingSwitch.ENDPOINT, "http://localhost:4317/")
                .withSources(new PropertiesConfigSource(set, "test", 250))
                .build();
        return config.getRawValue(TracingSwitch.SDK_DISABLED);
    }

    @Test
    void noEndpointMeansDisabledDespiteQuarkusDefaultEndpoint() {
        assertEquals("true", sdkDisabled(Map.of()));
    }

    @Test
    void eitherEndpointTurnsTracingOn() {
        assertEquals("false", sdkDisabled(Map.of(TracingSwitch.TRACES_ENDPOINT, "http://collector:4317")));
        assertEquals("false", sdkDisabled(Map.of(TracingSwitch.ENDPOINT, "http://collector:4317")));
    }

    @Test
    void explicitSettingWins() {
        assertEquals("true", sdkDisabled(Map.of(TracingSwitch.ENDPOINT, "http://collector:4317", TracingSwitch.SDK_DISABLED, "true")));
        assertEquals("false", sdkDisabled(Map.of(TracingSwitch.SDK_DISABLED, "false")));
    }
}
