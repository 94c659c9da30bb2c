package dev.loraxj.adapter;

import dev.loraxj.model.DType;

import java.io.ByteArrayOutputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * Writes checkpoints the way torch.save does (a zip of data.pkl in pickle protocol 2, data/N storages,
 * byteorder and version, 64-byte aligned), so the reader's tests need no Python. The pickle bytes were
 * checked against CPython's pickle of the same object graph.
 */
final class TorchZipWriter {

    /** One storage: little-endian values of one dtype, written to data/{key}. */
    record Storage(String key, DType dtype, byte[] data) {
        long numel() {
            return data.length / dtype.bytes();
        }
    }

    record Entry(String name, Storage storage, long offset, long[] size, long[] stride) {}

    private final boolean ordered;
    private final List<Storage> storages = new ArrayList<>();
    private final List<Entry> entries = new ArrayList<>();
    private boolean metadata;

    private TorchZipWriter(boolean ordered) {
        this.ordered = ordered;
    }

    /** A plain dict, as PEFT's get_peft_model_state_dict returns. */
    static TorchZipWriter dict() {
        return new TorchZipWriter(false);
    }

    /** A collections.OrderedDict, as module.state_dict() returns. */
    static TorchZipWriter orderedDict() {
        return new TorchZipWriter(true);
    }

    /** Adds state_dict()'s _metadata attribute, which pickles as BUILD on the OrderedDict. */
    TorchZipWriter withMetadata() {
        metadata = true;
        return this;
    }

    /** A new storage holding {@code values} rounded to {@code dtype}; keys count up as torch numbers them. */
    Storage storage(DType dtype, float... values) {
        ByteBuffer buf = ByteBuffer.allocate(values.length * dtype.bytes()).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            switch (dtype) {
                case F32 -> buf.putFloat(v);
                case BF16 -> buf.putShort(DType.floatToBf16(v));
                case F16 -> buf.putShort(Float.floatToFloat16(v));
            }
        }
        Storage s = new Storage(Integer.toString(storages.size()), dtype, buf.array());
        storages.add(s);
        return s;
    }

    /** A view into {@code storage}, exactly as torch pickles it (sizes, strides and offset in elements). */
    TorchZipWriter view(String name, Storage storage, long offset, long[] size, long[] stride) {
        entries.add(new Entry(name, storage, offset, size, stride));
        return this;
    }

    /** A contiguous tensor with its own storage. */
    TorchZipWriter tensor(String name, DType dtype, long[] shape, float... values) {
        long[] stride = new long[shape.length];
        long s = 1;
        for (int d = shape.length - 1; d >= 0; d--) {
            stride[d] = s;
            s *= shape[d];
        }
        return view(name, storage(dtype, values), 0, shape, stride);
    }

    /** data.pkl as torch.save writes it with the default pickle_protocol=2. */
    byte[] pickle() {
        Pickle p = new Pickle().proto(2);
        if (ordered) {
            p.global("collections", "OrderedDict").op(Pickle.EMPTY_TUPLE).op(Pickle.REDUCE).memoize();
        } else {
            p.op(Pickle.EMPTY_DICT).memoize();
        }
        // CPython writes one item as SETITEM and larger batches (up to 1000) between MARK and SETITEMS
        for (int start = 0; start < entries.size(); start += 1000) {
            List<Entry> batch = entries.subList(start, Math.min(entries.size(), start + 1000));
            if (batch.size() > 1) {
                p.op(Pickle.MARK);
            }
            for (Entry e : batch) {
                p.string(e.name());
                tensor(p, e);
            }
            p.op(batch.size() > 1 ? Pickle.SETITEMS : Pickle.SETITEM);
        }
        if (metadata) { // {'_metadata': OrderedDict([('', {'version': 1})])}
            p.op(Pickle.EMPTY_DICT).memoize().string("_metadata");
            p.global("collections", "OrderedDict").op(Pickle.EMPTY_TUPLE).op(Pickle.REDUCE).memoize();
            p.string("").op(Pickle.EMPTY_DICT).memoize().string("version").integer(1).op(Pickle.SETITEM);
            p.op(Pickle.SETITEM).op(Pickle.SETITEM).op(Pickle.BUILD);
        }
        return p.op(Pickle.STOP).bytes();
    }

    // torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad, OrderedDict())
    private static void tensor(Pickle p, Entry e) {
        String storageClass = switch (e.storage().dtype()) {
            case F32 -> "FloatStorage";
            case BF16 -> "BFloat16Storage";
            case F16 -> "HalfStorage";
            case I8, I4, I32, U4 -> throw new IllegalArgumentException("torch checkpoints here hold F32, BF16 or F16");
        };
        p.global("torch._utils", "_rebuild_tensor_v2").op(Pickle.MARK);
        p.op(Pickle.MARK).string("storage").global("torch", storageClass).string(e.storage().key()).string("cpu")
                .integer(e.storage().numel()).op(Pickle.TUPLE).memoize().op(Pickle.BINPERSID);
        p.integer(e.offset()).tuple(e.size()).tuple(e.stride()).op(Pickle.NEWFALSE);
        p.global("collections", "OrderedDict").op(Pickle.EMPTY_TUPLE).op(Pickle.REDUCE).memoize();
        p.op(Pickle.TUPLE).memoize().op(Pickle.REDUCE).memoize();
    }

    /** The archive's records, relative to its top-level folder, in the order torch writes them. */
    Map<String, byte[]> records() {
        Map<String, byte[]> records = new LinkedHashMap<>();
        records.put("data.pkl", pickle());
        records.put(".format_version", ascii("1"));
        records.put(".storage_alignment", ascii("64"));
        records.put("byteorder", ascii("little"));
        for (Storage s : storages) {
            records.put("data/" + s.key(), s.data());
        }
        records.put("version", ascii("3\n"));
        records.put(".data/serialization_id", ascii("1234567890123456789012345678901234567890"));
        return records;
    }

    /** Writes to {@code file} under a folder named after the file's stem, as torch.save(obj, path) does. */
    Path write(Path file) throws IOException {
        String stem = file.getFileName().toString().replaceFirst("\\.[^.]*$", "");
        writeZip(file, stem, records());
        return file;
    }

    /** Stored (uncompressed) entries with data aligned to 64 bytes by a local "FB" extra field, as torch pads. */
    static void writeZip(Path file, String folder, Map<String, byte[]> records) throws IOException {
        try (CountingStream counting = new CountingStream(Files.newOutputStream(file));
             ZipOutputStream zip = new ZipOutputStream(counting)) {
            for (Map.Entry<String, byte[]> r : records.entrySet()) {
                byte[] data = r.getValue();
                ZipEntry entry = new ZipEntry(folder + "/" + r.getKey());
                entry.setMethod(ZipEntry.STORED);
                entry.setSize(data.length);
                entry.setCompressedSize(data.length);
                CRC32 crc = new CRC32();
                crc.update(data);
                entry.setCrc(crc.getValue());
                entry.setTime(315532800000L); // 1980-01-01, a fixed time keeps the bytes reproducible
                long header = counting.count + 30 + entry.getName().getBytes(StandardCharsets.UTF_8).length + 4;
                int pad = (int) ((64 - header % 64) % 64);
                byte[] extra = new byte[4 + pad];
                ByteBuffer.wrap(extra).order(ByteOrder.LITTLE_ENDIAN).put((byte) 'F').put((byte) 'B').putShort((short) pad);
                java.util.Arrays.fill(extra, 4, extra.length, (byte) 'Z');
                entry.setExtra(extra);
                zip.putNextEntry(entry);
                zip.write(data);
                zip.closeEntry();
            }
        }
    }

    static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    private static final class CountingStream extends FilterOutputStream {
        long count;

        CountingStream(OutputStream out) {
            super(out);
        }

        @Override
        public void write(int b) throws IOException {
            out.write(b);
            count++;
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
            count += len;
        }
    }

    /** Emits pickle opcodes with CPython's memo: every string, global, tuple and reduce result is BINPUT once. */
    static final class Pickle {
        static final int MARK = '(', STOP = '.', EMPTY_DICT = '}', EMPTY_TUPLE = ')', TUPLE = 't', REDUCE = 'R',
                BUILD = 'b', SETITEM = 's', SETITEMS = 'u', BINPERSID = 'Q', NEWFALSE = 0x89, GLOBAL = 'c';

        private final ByteArrayOutputStream out = new ByteArrayOutputStream();
        private final Map<String, Integer> memo = new HashMap<>();
        private int next;

        Pickle proto(int version) {
            return op(0x80).op(version);
        }

        Pickle op(int... bytes) {
            for (int b : bytes) {
                out.write(b);
            }
            return this;
        }

        Pickle raw(byte[] bytes) {
            out.writeBytes(bytes);
            return this;
        }

        Pickle memoize() {
            int index = next++;
            return index < 256 ? op('q', index) : op('r').le(index, 4);
        }

        // strings and globals are shared objects in CPython, so a repeat is a BINGET of the first
        private boolean fromMemo(String key) {
            Integer index = memo.get(key);
            if (index == null) {
                memo.put(key, next);
                return false;
            }
            if (index < 256) {
                op('h', index);
            } else {
                op('j').le(index, 4);
            }
            return true;
        }

        Pickle global(String module, String name) {
            if (!fromMemo("global " + module + " " + name)) {
                op(GLOBAL).raw(ascii(module + "\n" + name + "\n")).memoize();
            }
            return this;
        }

        Pickle string(String s) {
            if (!fromMemo("string " + s)) {
                byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
                op('X').le(utf8.length, 4).raw(utf8).memoize();
            }
            return this;
        }

        Pickle integer(long v) {
            if (v >= 0 && v < 0x100) {
                return op('K', (int) v);
            } else if (v >= 0 && v < 0x10000) {
                return op('M').le(v, 2);
            } else if (v >= Integer.MIN_VALUE && v <= Integer.MAX_VALUE) {
                return op('J').le(v, 4);
            }
            byte[] be = java.math.BigInteger.valueOf(v).toByteArray(); // minimal two's complement, as CPython's encode_long
            op(0x8a, be.length);
            for (int i = be.length - 1; i >= 0; i--) {
                out.write(be[i]);
            }
            return this;
        }

        /** A tuple of ints: EMPTY_TUPLE (not memoized), TUPLE1..3, or MARK ... TUPLE, as CPython does. */
        Pickle tuple(long[] values) {
            if (values.length == 0) {
                return op(EMPTY_TUPLE);
            }
            if (values.length > 3) {
                op(MARK);
            }
            for (long v : values) {
                integer(v);
            }
            return op(values.length > 3 ? TUPLE : 0x84 + values.length).memoize();
        }

        Pickle le(long v, int n) {
            for (int i = 0; i < n; i++) {
                out.write((int) (v >>> (8 * i)) & 0xFF);
            }
            return this;
        }

        byte[] bytes() {
            return out.toByteArray();
        }
    }
}
