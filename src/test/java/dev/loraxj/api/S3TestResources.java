package dev.loraxj.api;

import dev.loraxj.SharedAssets;
import dev.loraxj.TestFiles;
import dev.loraxj.adapter.PredibaseFakeGateway;
import dev.loraxj.adapter.S3ProxyServer;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * s3proxy and a fake Predibase gateway on 127.0.0.1 for the QuarkusTests of the s3 and pbase
 * sources, and the server's settings pointing at them. Init arg {@code secret} replaces the
 * server's S3 secret (to test wrong credentials).
 */
public class S3TestResources implements QuarkusTestResourceLifecycleManager {

    public static final String BUCKET = "loraxj-adapters";
    public static final String MAX = "s3://" + BUCKET + "/stories260K/lora-name-max";
    public static final String ALICE = "pb-alice-token";
    public static final String BOB = "pb-bob-token";
    public static final String SERVER = "pb-server-token";
    static final String UUID = "0b5c2d4e-1f3a-4b6c-8d7e-9f0a1b2c3d4e";

    private String secret = S3ProxyServer.SECRET_KEY;
    private S3ProxyServer s3;
    private PredibaseFakeGateway gateway;
    private Path cache;

    @Override
    public void init(Map<String, String> args) {
        secret = args.getOrDefault("secret", secret);
    }

    @Override
    public Map<String, String> start() {
        try {
            s3 = S3ProxyServer.start();
            s3.createBucket(BUCKET);
            s3.upload(SharedAssets.adapter("lora-name-max"), BUCKET, "stories260K/lora-name-max");
            s3.upload(SharedAssets.adapter("lora-name-max"), BUCKET, "pbase/names/1");
            s3.upload(SharedAssets.adapter("lora-name-sue"), BUCKET, UUID + "/5/artifacts/model/model_weights");
            gateway = PredibaseFakeGateway.start()
                    .grant(ALICE, "names", "old-names").grant(BOB, "other").grant(SERVER, "names", "old-names")
                    .version("names", "1", "completed", "s3://" + BUCKET + "/pbase/names/1")
                    .legacy("old-names", "2", UUID, 5);
            cache = TestFiles.dir("loraxj-s3-cache");
        } catch (Exception e) {
            throw new IllegalStateException("cannot start s3proxy and the fake Predibase gateway", e);
        }
        Map<String, String> config = new HashMap<>();
        config.put("quarkus.s3.endpoint-override", s3.endpoint().toString());
        // path-style comes from application.properties' default, which these tests thereby check
        config.put("quarkus.s3.aws.region", S3ProxyServer.REGION);
        config.put("quarkus.s3.aws.credentials.type", "static");
        config.put("quarkus.s3.aws.credentials.static-provider.access-key-id", S3ProxyServer.ACCESS_KEY);
        config.put("quarkus.s3.aws.credentials.static-provider.secret-access-key", secret);
        config.put("loraxj.s3.cache", cache.toString());
        config.put("loraxj.predibase.gateway", gateway.uri().toString());
        config.put("loraxj.predibase.token", SERVER);
        config.put("loraxj.predibase.model-bucket", BUCKET);
        return config;
    }

    @Override
    public void stop() {
        try {
            if (gateway != null) {
                gateway.close();
            }
            if (s3 != null) {
                s3.close();
            }
            if (cache != null) {
                TestFiles.deleteTree(cache);
            }
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
