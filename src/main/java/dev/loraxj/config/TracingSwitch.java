package dev.loraxj.config;

import io.smallrye.config.ConfigSourceInterceptor;
import io.smallrye.config.ConfigSourceInterceptorContext;
import io.smallrye.config.ConfigValue;
import io.smallrye.config.Priorities;
import jakarta.annotation.Priority;

/**
 * Tracing is off unless an OTLP endpoint is configured: {@code quarkus.otel.sdk.disabled} defaults
 * to true when neither {@code quarkus.otel.exporter.otlp.endpoint} nor its {@code traces.} form is
 * set (Quarkus's own default endpoint, localhost:4317, does not count), so a local run starts no
 * exporter and logs no failed exports. A value set for {@code quarkus.otel.sdk.disabled} wins.
 */
@Priority(Priorities.APPLICATION)
public final class TracingSwitch implements ConfigSourceInterceptor {

    static final String SDK_DISABLED = "quarkus.otel.sdk.disabled";
    static final String ENDPOINT = "quarkus.otel.exporter.otlp.endpoint";
    static final String TRACES_ENDPOINT = "quarkus.otel.exporter.otlp.traces.endpoint";

    @Override
    public ConfigValue getValue(ConfigSourceInterceptorContext context, String name) {
        ConfigValue value = context.proceed(name);
        if (!SDK_DISABLED.equals(name) || configured(value)) {
            return value;
        }
        boolean endpoint = configured(context.proceed(TRACES_ENDPOINT)) || configured(context.proceed(ENDPOINT));
        return ConfigValue.builder().withName(name).withValue(String.valueOf(!endpoint))
                .withConfigSourceName(TracingSwitch.class.getSimpleName()).withConfigSourceOrdinal(Integer.MIN_VALUE + 1).build();
    }

    /** Set by a source of its own, not by a default (defaults sit at the lowest ordinal). */
    private static boolean configured(ConfigValue value) {
        return value != null && value.getValue() != null && !value.getValue().isBlank()
                && value.getConfigSourceOrdinal() > Integer.MIN_VALUE;
    }
}
