package dev.loraxj.hardening;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * HTTP/1.1 over a plain socket to 127.0.0.1, for what java.net.http will not send (a malformed
 * chunked body, a declared length over the limit) and for clients that misbehave on purpose.
 * One request per connection ({@code Connection: close}); every read is bounded by a deadline.
 */
final class RawHttp {

    /** No status line arrived: the server closed the connection, or the deadline passed. */
    static final int CLOSED = -1;
    static final int TIMED_OUT = -2;
    private static final int MAX_BODY = 1 << 20;

    record Response(int status, Map<String, String> headers, String body) {
        String header(String name) {
            return headers.get(name.toLowerCase(Locale.ROOT));
        }
    }

    private RawHttp() {
    }

    /** The head of a request; the caller appends the body (and chooses the framing headers). */
    static byte[] head(String method, String path, int port, String... headers) {
        StringBuilder sb = new StringBuilder(method).append(' ').append(path).append(" HTTP/1.1\r\n")
                .append("Host: 127.0.0.1:").append(port).append("\r\n").append("Connection: close\r\n");
        for (String h : headers) {
            sb.append(h).append("\r\n");
        }
        return sb.append("\r\n").toString().getBytes(StandardCharsets.ISO_8859_1);
    }

    /** A request with a Content-Length body. */
    static byte[] request(String method, String path, int port, String contentType, byte[] body) {
        byte[] head = head(method, path, port, "Content-Type: " + contentType, "Content-Length: " + body.length);
        byte[] out = new byte[head.length + body.length];
        System.arraycopy(head, 0, out, 0, head.length);
        System.arraycopy(body, 0, out, head.length, body.length);
        return out;
    }

    static Response exchange(int port, byte[] request, long timeoutMillis) {
        return exchange(port, request, 0, timeoutMillis);
    }

    /**
     * Sends {@code request}, then {@code extraBodyBytes} more bytes of filler from another thread (the
     * server may answer, and close, before it has read them all), and reads the answer.
     */
    static Response exchange(int port, byte[] request, long extraBodyBytes, long timeoutMillis) {
        long deadline = System.nanoTime() + timeoutMillis * 1_000_000L;
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), (int) timeoutMillis);
            OutputStream out = s.getOutputStream();
            out.write(request);
            out.flush();
            Thread writer = null;
            if (extraBodyBytes > 0) {
                writer = Thread.ofVirtual().start(() -> {
                    byte[] filler = new byte[64 * 1024];
                    java.util.Arrays.fill(filler, (byte) ' ');
                    long left = extraBodyBytes;
                    try {
                        while (left > 0 && System.nanoTime() < deadline) {
                            int n = (int) Math.min(filler.length, left);
                            out.write(filler, 0, n);
                            left -= n;
                        }
                        out.flush();
                    } catch (IOException e) {
                        // the server stopped reading (it answered already): expected for a refused body
                    }
                });
            }
            try {
                return read(s, deadline);
            } finally {
                if (writer != null) {
                    writer.interrupt();
                }
            }
        } catch (IOException e) {
            return new Response(CLOSED, Map.of(), "connect/write failed: " + e);
        }
    }

    static Response read(Socket s, long deadline) throws IOException {
        InputStream in = new BufferedInputStream(s.getInputStream());
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        try {
            int last4 = 0;
            while (last4 != 0x0d0a0d0a) {
                int b = readByte(s, in, deadline);
                if (b < 0) {
                    return new Response(CLOSED, Map.of(), head.toString(StandardCharsets.ISO_8859_1));
                }
                head.write(b);
                last4 = (last4 << 8) | b;
                if (head.size() > 65536) {
                    throw new IOException("response head too long");
                }
            }
        } catch (SocketTimeoutException e) {
            return new Response(TIMED_OUT, Map.of(), head.toString(StandardCharsets.ISO_8859_1));
        }
        String[] lines = head.toString(StandardCharsets.ISO_8859_1).split("\r\n");
        String[] statusLine = lines[0].split(" ", 3);
        int status = Integer.parseInt(statusLine[1]);
        Map<String, String> headers = new LinkedHashMap<>();
        for (int i = 1; i < lines.length; i++) {
            int colon = lines[i].indexOf(':');
            if (colon > 0) {
                headers.put(lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT), lines[i].substring(colon + 1).trim());
            }
        }
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        try {
            if ("chunked".equalsIgnoreCase(headers.get("transfer-encoding"))) {
                while (body.size() < MAX_BODY) {
                    String size = line(s, in, deadline);
                    if (size == null) {
                        break;
                    }
                    int semi = size.indexOf(';');
                    int n = Integer.parseInt((semi >= 0 ? size.substring(0, semi) : size).trim(), 16);
                    if (n == 0) {
                        break;
                    }
                    for (int i = 0; i < n; i++) {
                        int b = readByte(s, in, deadline);
                        if (b < 0) {
                            return new Response(status, headers, body.toString(StandardCharsets.UTF_8));
                        }
                        body.write(b);
                    }
                    line(s, in, deadline);
                }
            } else if (headers.containsKey("content-length")) {
                long n = Long.parseLong(headers.get("content-length"));
                for (long i = 0; i < n && body.size() < MAX_BODY; i++) {
                    int b = readByte(s, in, deadline);
                    if (b < 0) {
                        break;
                    }
                    body.write(b);
                }
            } else {
                int b;
                while (body.size() < MAX_BODY && (b = readByte(s, in, deadline)) >= 0) {
                    body.write(b);
                }
            }
        } catch (SocketTimeoutException e) {
            return new Response(TIMED_OUT, headers, body.toString(StandardCharsets.UTF_8));
        }
        return new Response(status, headers, body.toString(StandardCharsets.UTF_8));
    }

    private static String line(Socket s, InputStream in, long deadline) throws IOException {
        StringBuilder sb = new StringBuilder();
        int b;
        while ((b = readByte(s, in, deadline)) >= 0) {
            if (b == '\n') {
                return sb.toString().strip();
            }
            sb.append((char) b);
        }
        return sb.isEmpty() ? null : sb.toString();
    }

    private static int readByte(Socket s, InputStream in, long deadline) throws IOException {
        long left = (deadline - System.nanoTime()) / 1_000_000L;
        if (left <= 0) {
            throw new SocketTimeoutException("deadline");
        }
        s.setSoTimeout((int) Math.max(1, left));
        return in.read();
    }
}
