package dev.loraxj.hardening;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * One SSE request over a plain socket to 127.0.0.1, read event by event (chunked framing decoded
 * here), or not read at all. Closing it drops the connection mid-stream, as a client that goes away.
 */
final class SseStream implements AutoCloseable {

    private final Socket socket;
    private InputStream in;
    private int status;
    private boolean chunked;
    private long contentLength = -1;
    private final ByteArrayOutputStream pending = new ByteArrayOutputStream();
    private boolean eof;

    private SseStream(Socket socket) {
        this.socket = socket;
    }

    /** Connects and sends the request; reads nothing. {@code receiveBuffer} 0 keeps the default. */
    static SseStream open(int port, String path, String body, int receiveBuffer) throws IOException {
        Socket s = new Socket();
        if (receiveBuffer > 0) {
            s.setReceiveBufferSize(receiveBuffer); // before connect, so the advertised window is small from the start
        }
        s.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
        SseStream stream = new SseStream(s);
        try {
            s.getOutputStream().write(RawHttp.request("POST", path, port, "application/json", body.getBytes(StandardCharsets.UTF_8)));
            s.getOutputStream().flush();
        } catch (IOException e) {
            s.close();
            throw e;
        }
        return stream;
    }

    /** Reads the status line and headers; returns the status. */
    int head(long deadlineNanos) throws IOException {
        in = new BufferedInputStream(socket.getInputStream());
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        int last4 = 0;
        while (last4 != 0x0d0a0d0a) {
            int b = read(deadlineNanos);
            if (b < 0) {
                throw new IOException("closed before the response head");
            }
            head.write(b);
            last4 = (last4 << 8) | b;
        }
        String[] lines = head.toString(StandardCharsets.ISO_8859_1).split("\r\n");
        status = Integer.parseInt(lines[0].split(" ")[1]);
        for (int i = 1; i < lines.length; i++) {
            String l = lines[i].toLowerCase(Locale.ROOT);
            if (l.startsWith("transfer-encoding:") && l.contains("chunked")) {
                chunked = true;
            } else if (l.startsWith("content-length:")) {
                contentLength = Long.parseLong(l.substring(15).trim());
            }
        }
        return status;
    }

    /** The next event's data (after "data:", trimmed), or null once the stream has ended. */
    String nextData(long deadlineNanos) throws IOException {
        while (true) {
            byte[] buf = pending.toByteArray();
            int end = indexOf(buf, "\n\n");
            if (end >= 0) {
                String event = new String(buf, 0, end, StandardCharsets.UTF_8);
                pending.reset();
                pending.write(buf, end + 2, buf.length - end - 2);
                for (String line : event.split("\n")) {
                    if (line.startsWith("data:")) {
                        return line.substring(5).trim();
                    }
                }
                continue;
            }
            if (eof || !fill(deadlineNanos)) {
                return null;
            }
        }
    }

    /** The rest of the body as text (an error answer). */
    String rest(long deadlineNanos) throws IOException {
        while (!eof && fill(deadlineNanos)) {
            // keep reading
        }
        return pending.toString(StandardCharsets.UTF_8);
    }

    /** Appends the next piece of body to {@code pending}; false at the end. */
    private boolean fill(long deadlineNanos) throws IOException {
        if (chunked) {
            String size = line(deadlineNanos);
            if (size == null) {
                eof = true;
                return false;
            }
            int semi = size.indexOf(';');
            int n = Integer.parseInt((semi >= 0 ? size.substring(0, semi) : size).trim(), 16);
            if (n == 0) {
                eof = true;
                return false;
            }
            for (int i = 0; i < n; i++) {
                int b = read(deadlineNanos);
                if (b < 0) {
                    eof = true;
                    return i > 0;
                }
                pending.write(b);
            }
            line(deadlineNanos);
            return true;
        }
        if (contentLength == 0) {
            eof = true;
            return false;
        }
        int b = read(deadlineNanos);
        if (b < 0) {
            eof = true;
            return false;
        }
        pending.write(b);
        if (contentLength > 0) {
            contentLength--;
        }
        return true;
    }

    private String line(long deadlineNanos) throws IOException {
        StringBuilder sb = new StringBuilder();
        int b;
        while ((b = read(deadlineNanos)) >= 0) {
            if (b == '\n') {
                return sb.toString().strip();
            }
            sb.append((char) b);
        }
        return sb.isEmpty() ? null : sb.toString();
    }

    private int read(long deadlineNanos) throws IOException {
        long left = (deadlineNanos - System.nanoTime()) / 1_000_000L;
        if (left <= 0) {
            throw new SocketTimeoutException("deadline passed");
        }
        socket.setSoTimeout((int) Math.min(Integer.MAX_VALUE, Math.max(1, left)));
        return in.read();
    }

    private static int indexOf(byte[] buf, String s) {
        byte[] p = s.getBytes(StandardCharsets.US_ASCII);
        outer:
        for (int i = 0; i + p.length <= buf.length; i++) {
            for (int j = 0; j < p.length; j++) {
                if (buf[i + j] != p[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    @Override
    public void close() {
        try {
            socket.close();
        } catch (IOException e) {
            // closing is all we want
        }
    }
}
