package dev.loraxj.adapter;

import dev.loraxj.adapter.TorchPickle.StorageRef;
import dev.loraxj.adapter.TorchPickle.TensorRef;
import dev.loraxj.model.DType;
import dev.loraxj.model.Tensor;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;

/**
 * The tensors of a PyTorch checkpoint written by torch.save in the zip format (PEFT's adapter_model.bin).
 * Written by hand because no Java library reads torch zips without running their pickle code.
 */
public final class TorchCheckpoint {

    private static final long MAX_PICKLE_BYTES = 64L << 20;
    private static final long DEFLATE_MAX_RATIO = 1100; // deflate cannot expand more than ~1032:1
    private static final byte[] ZIP_MAGIC = {'P', 'K', 3, 4};
    private static final byte[] EMPTY_ZIP_MAGIC = {'P', 'K', 5, 6};

    private TorchCheckpoint() {}

    /** The tensors of a torch.save zip file, by name, contiguous and row-major. Throws AdapterException with a message naming the file and the problem. */
    public static Map<String, Tensor> read(Path file) {
        checkMagic(file);
        try (ZipFile zip = new ZipFile(file.toFile())) {
            return read(file, zip);
        } catch (ZipException e) {
            throw new AdapterException(file.getFileName() + ": not a readable zip archive, truncated or corrupt (" + e.getMessage() + ")", e);
        } catch (IOException e) {
            throw new AdapterException("cannot read " + file.getFileName() + ": " + e.getClass().getSimpleName(), e);
        } catch (AdapterException e) {
            throw e;
        } catch (RuntimeException e) { // a check we missed must still name the file, not leak from deep inside
            throw new AdapterException(file.getFileName() + ": corrupt torch checkpoint: " + e, e);
        }
    }

    private static Map<String, Tensor> read(Path file, ZipFile zip) throws IOException {
        String prefix = archiveFolder(file, zip);
        ZipEntry byteorder = zip.getEntry(prefix + "byteorder");
        if (byteorder != null) {
            String order = new String(entryBytes(file, zip, byteorder, 64), StandardCharsets.US_ASCII).strip();
            if (!order.equals("little")) {
                throw new AdapterException(file.getFileName() + ": stores its tensors with byteorder '" + order
                        + "'; loraxj reads only little-endian checkpoints (re-save it on a little-endian machine)");
            }
        }
        byte[] pickle = entryBytes(file, zip, zip.getEntry(prefix + "data.pkl"), MAX_PICKLE_BYTES);
        if (!(TorchPickle.load(pickle, file.toString()) instanceof Map<?, ?> top)) {
            throw new AdapterException(file.getFileName() + ": data.pkl holds no dict of tensors; it is not a saved state dict");
        }
        Map<String, MemorySegment> storages = new HashMap<>();
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (Map.Entry<?, ?> e : top.entrySet()) {
            if (!(e.getKey() instanceof String name) || !(e.getValue() instanceof TensorRef ref)) {
                String key = String.valueOf(e.getKey());
                throw new AdapterException(file.getFileName() + ": entry '" + (key.length() > 100 ? key.substring(0, 100) + "..." : key)
                        + "' of the state dict is not a named tensor (loraxj reads flat dicts of tensors)");
            }
            StorageRef s = ref.storage();
            MemorySegment storage = storages.get(s.key());
            if (storage == null) {
                storage = storageBytes(file, zip, prefix + "data/" + s.key());
                storages.put(s.key(), storage);
            }
            long declared = bytes(file, s);
            if (declared > storage.byteSize()) {
                throw new AdapterException(file.getFileName() + ": storage " + prefix + "data/" + s.key() + " holds "
                        + storage.byteSize() + " bytes, but data.pkl declares " + declared + " (truncated?)");
            }
            tensors.put(name, tensor(file, name, ref, storage.asSlice(0, declared)));
        }
        return Collections.unmodifiableMap(tensors);
    }

    /** Refuses, by their first bytes, the files that are not torch zips, before zip parsing can mislead. */
    private static void checkMagic(Path file) {
        byte[] head = new byte[4];
        try (InputStream in = Files.newInputStream(file)) {
            int n = in.readNBytes(head, 0, head.length);
            if (n == 4 && (Arrays.equals(head, ZIP_MAGIC) || Arrays.equals(head, EMPTY_ZIP_MAGIC))) {
                return;
            }
            if (n > 0 && (head[0] & 0xFF) == 0x80) {
                throw new AdapterException(file.getFileName() + ": a legacy (pre-1.6) torch.save file, a bare pickle stream, which loraxj"
                        + " does not load; re-save it with a newer torch or convert it to adapter_model.safetensors");
            }
            throw new AdapterException(file.getFileName() + ": not a torch.save zip checkpoint (it does not start with a zip header)");
        } catch (NoSuchFileException e) {
            throw new AdapterException(file.getFileName() + ": no such file", e);
        } catch (IOException e) {
            throw new AdapterException("cannot read " + file.getFileName() + ": " + e.getClass().getSimpleName(), e);
        }
    }

    /** The one top-level folder ("archive/", or the file stem) that holds data.pkl, with its slash. */
    private static String archiveFolder(Path file, ZipFile zip) {
        List<String> folders = new ArrayList<>();
        boolean torchScript = false;
        for (var entries = zip.entries(); entries.hasMoreElements(); ) {
            String name = entries.nextElement().getName();
            int slash = name.indexOf('/');
            if (slash > 0 && name.substring(slash + 1).equals("data.pkl")) {
                folders.add(name.substring(0, slash + 1));
            }
            torchScript |= slash > 0 && (name.substring(slash + 1).equals("constants.pkl")
                    || name.substring(slash + 1).startsWith("code/"));
        }
        if (torchScript) {
            throw new AdapterException(file.getFileName() + ": a TorchScript archive (torch.jit.save), not a torch.save state dict;"
                    + " loraxj does not load TorchScript");
        }
        if (folders.size() != 1) {
            throw new AdapterException(file.getFileName() + ": not a torch.save checkpoint (" + folders.size()
                    + " top-level folders hold a data.pkl; expected exactly one)");
        }
        return folders.getFirst();
    }

    private static long bytes(Path file, StorageRef s) {
        try {
            return s.bytes();
        } catch (ArithmeticException e) {
            throw new AdapterException(file.getFileName() + ": storage data/" + s.key() + " declares " + s.numel() + " elements, too many");
        }
    }

    /** A small entry (data.pkl, byteorder) on the heap, refusing sizes past {@code limit}. */
    private static byte[] entryBytes(Path file, ZipFile zip, ZipEntry entry, long limit) throws IOException {
        if (entry.getSize() < 0 || entry.getSize() > limit) {
            throw new AdapterException(file.getFileName() + ": zip entry " + entry.getName() + " claims " + entry.getSize()
                    + " bytes, more than the " + limit + " such an entry can hold");
        }
        try (InputStream in = zip.getInputStream(entry)) {
            byte[] bytes = in.readNBytes((int) entry.getSize());
            if (bytes.length != entry.getSize()) {
                throw new AdapterException(file.getFileName() + ": zip entry " + entry.getName() + " ends early (truncated)");
            }
            return bytes;
        }
    }

    /** One data/N storage copied off-heap; its size is checked against what the zip can really hold. */
    private static MemorySegment storageBytes(Path file, ZipFile zip, String name) throws IOException {
        ZipEntry entry = zip.getEntry(name);
        if (entry == null) {
            throw new AdapterException(file.getFileName() + ": storage " + name + " is missing from the zip (incomplete checkpoint)");
        }
        long size = entry.getSize();
        long packed = entry.getCompressedSize();
        long fileSize = Files.size(file);
        boolean plausible = size >= 0 && packed >= 0 && packed <= fileSize
                && (entry.getMethod() == ZipEntry.STORED ? size == packed : size / DEFLATE_MAX_RATIO <= packed);
        if (!plausible) {
            throw new AdapterException(file.getFileName() + ": zip entry " + name + " claims " + size + " bytes, more than the "
                    + fileSize + "-byte file can hold (corrupt)");
        }
        MemorySegment out = Arena.ofAuto().allocate(size, 8);
        byte[] buffer = new byte[(int) Math.min(size, 1 << 20)];
        try (InputStream in = zip.getInputStream(entry)) {
            for (long done = 0; done < size; ) {
                int n = in.read(buffer, 0, (int) Math.min(buffer.length, size - done));
                if (n < 0) {
                    throw new AdapterException(file.getFileName() + ": storage " + name + " ends after " + done + " of its "
                            + size + " bytes (truncated)");
                }
                MemorySegment.copy(buffer, 0, out, ValueLayout.JAVA_BYTE, done, n);
                done += n;
            }
        }
        return out;
    }

    /** The view {@code ref} as a contiguous row-major tensor: a slice when it already is one, else a copy. */
    static Tensor tensor(Path file, String name, TensorRef ref, MemorySegment storage) {
        DType dtype = ref.dtype();
        long[] size = ref.size();
        long[] stride = ref.stride();
        long el = dtype.bytes();
        long numel;
        long last;
        try {
            numel = 1;
            last = ref.offset();
            for (int d = 0; d < size.length; d++) {
                numel = Math.multiplyExact(numel, size[d]);
                last = Math.addExact(last, Math.multiplyExact(Math.max(size[d] - 1, 0), stride[d]));
            }
            Math.multiplyExact(last + 1, el);
        } catch (ArithmeticException e) {
            throw new AdapterException(file.getFileName() + ": tensor " + name + " has a size " + Arrays.toString(size)
                    + " and stride " + Arrays.toString(stride) + " that overflow");
        }
        if (numel == 0) {
            return new Tensor(name, dtype, size, storage.asSlice(0, 0));
        }
        long storageElements = storage.byteSize() / el;
        if (ref.offset() < 0 || last >= storageElements) {
            throw new AdapterException(file.getFileName() + ": tensor " + name + " " + Arrays.toString(size) + " reads elements "
                    + ref.offset() + ".." + last + " of storage data/" + ref.storage().key() + ", which holds only "
                    + storageElements + " " + dtype.torchName() + " elements (corrupt)");
        }
        if (numel > storageElements) { // only stride-0 views get here; copying them could allocate without bound
            throw new AdapterException(file.getFileName() + ": tensor " + name + " " + Arrays.toString(size) + " has " + numel
                    + " elements, more than the " + storageElements + " its storage holds (broadcast views are not supported)");
        }
        if (contiguous(size, stride)) {
            return new Tensor(name, dtype, size, storage.asSlice(ref.offset() * el, numel * el).asReadOnly());
        }
        MemorySegment out = Arena.ofAuto().allocate(numel * el, 8);
        int rank = size.length;
        // copy whole rows when the last dimension is dense, else element by element
        boolean denseRows = stride[rank - 1] == 1;
        long run = denseRows ? size[rank - 1] : 1;
        int outer = denseRows ? rank - 1 : rank;
        long[] index = new long[rank];
        for (long dst = 0; dst < numel * el; dst += run * el) {
            long src = ref.offset();
            for (int d = 0; d < outer; d++) {
                src += index[d] * stride[d];
            }
            MemorySegment.copy(storage, src * el, out, dst, run * el);
            for (int d = outer - 1; d >= 0 && ++index[d] == size[d]; d--) {
                index[d] = 0;
            }
        }
        return new Tensor(name, dtype, size, out.asReadOnly());
    }

    private static boolean contiguous(long[] size, long[] stride) {
        long expected = 1;
        for (int d = size.length - 1; d >= 0; d--) {
            if (size[d] != 1 && stride[d] != expected) {
                return false;
            }
            expected *= size[d];
        }
        return true;
    }
}
