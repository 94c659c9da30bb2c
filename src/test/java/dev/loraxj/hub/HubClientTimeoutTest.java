package dev.loraxj.hub;

import dev.loraxj.adapter.AdapterException;
import dev.loraxj.adapter.HubClient;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class HubClientTimeoutTest {

    @Test
    void aHubThatNeverAcceptsFailsAfterTheConnectTimeoutNamingIt(@TempDir Path cache) throws Exception {
        // a listener that never accepts, its backlog full: the kernel drops further SYNs, so connecting hangs
        try (ServerSocket server = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            List<Socket> filler = new ArrayList<>();
            try {
                for (int i = 0; i < 8; i++) {
                    Socket s = new Socket();
                    try {
                        s.connect(new InetSocketAddress(server.getInetAddress(), server.getLocalPort()), 200);
                        filler.add(s);
                    } catch (java.io.IOException full) {
                        s.close();
                        break;
                    }
                }
                HubClient hub = new HubClient("http://127.0.0.1:" + server.getLocalPort(), cache, false, 2,
                        Duration.ofMillis(500), new SimpleMeterRegistry());
                long t0 = System.nanoTime();
                AdapterException e = assertThrows(AdapterException.class, () -> hub.info("org/model", null, null));
                long ms = (System.nanoTime() - t0) / 1_000_000;
                // two attempts of 500 ms and a 200 ms backoff, not the 60 s request timeout
                assertTrue(ms < 10_000, "failed after " + ms + " ms");
                assertTrue(e.getMessage().contains("after 2 attempts") && e.getMessage().contains("ConnectTimeout"), e.getMessage());
            } finally {
                for (Socket s : filler) {
                    s.close();
                }
            }
        }
    }
}
