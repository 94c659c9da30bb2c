package dev.loraxj.adapter;

import dev.loraxj.model.DType;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads the data.pkl of a torch.save zip: a stack machine for exactly the pickle opcodes and globals that
 * a dict of tensors needs. Written by hand because pickle runs arbitrary code, and no Java library
 * unpickles torch checkpoints without instantiating classes: here globals are only names we interpret.
 */
final class TorchPickle {

    /** What an allow-listed global means to us; nothing is ever looked up or instantiated. */
    enum Kind { ORDERED_DICT, REBUILD_TENSOR_V2, REBUILD_TENSOR_V3, REBUILD_PARAMETER, STORAGE, DTYPE }

    record Global(String name, Kind kind, DType dtype) {}

    record Tuple(List<Object> items) {}

    /** A BINPERSID reference to zip entry data/{key}; dtype null means untyped bytes (numel counts bytes). */
    record StorageRef(String key, DType dtype, long numel) {
        long bytes() {
            return dtype == null ? numel : Math.multiplyExact(numel, (long) dtype.bytes());
        }
    }

    /** A tensor as torch._utils._rebuild_tensor_v2/v3 would build it: a strided view into a storage. */
    record TensorRef(StorageRef storage, DType dtype, long offset, long[] size, long[] stride) {}

    private static final Map<String, Global> ALLOWED = new HashMap<>();

    static {
        allow("collections OrderedDict", Kind.ORDERED_DICT, null);
        allow("torch._utils _rebuild_tensor_v2", Kind.REBUILD_TENSOR_V2, null);
        allow("torch._utils _rebuild_tensor_v3", Kind.REBUILD_TENSOR_V3, null);
        allow("torch._utils _rebuild_parameter", Kind.REBUILD_PARAMETER, null);
        allow("torch._utils _rebuild_parameter_with_state", Kind.REBUILD_PARAMETER, null);
        allow("torch FloatStorage", Kind.STORAGE, DType.F32);
        allow("torch BFloat16Storage", Kind.STORAGE, DType.BF16);
        allow("torch HalfStorage", Kind.STORAGE, DType.F16);
        allow("torch UntypedStorage", Kind.STORAGE, null);
        allow("torch.storage UntypedStorage", Kind.STORAGE, null);
        for (String[] alias : new String[][] {{"float32", "float"}, {"bfloat16"}, {"float16", "half"}}) {
            for (String name : alias) {
                allow("torch " + name, Kind.DTYPE, DType.parse(alias[0]));
            }
        }
    }

    // torch element types we recognise but do not serve, so the error names the dtype and not "a global"
    private static final Set<String> OTHER_TORCH_DTYPES = Set.of("float64", "double", "int64", "long", "int32", "int",
            "int16", "short", "int8", "uint8", "bool", "complex64", "complex128", "float8_e4m3fn", "float8_e5m2",
            "uint16", "uint32", "uint64", "cfloat", "cdouble");

    private static void allow(String moduleAndName, Kind kind, DType dtype) {
        ALLOWED.put(moduleAndName, new Global(moduleAndName.replace(' ', '.'), kind, dtype));
    }

    private static final int MAX_RANK = 64;

    private final byte[] in;
    private final String source;
    private int pos;
    private int opStart;
    private final ArrayList<Object> stack = new ArrayList<>();
    private final ArrayList<Integer> marks = new ArrayList<>();
    private final Map<Long, Object> memo = new HashMap<>();

    private TorchPickle(byte[] in, String source) {
        this.in = in;
        this.source = source;
    }

    /** The object that {@code pickle} describes; {@code source} names the file in error messages. */
    static Object load(byte[] pickle, String source) {
        return new TorchPickle(pickle, source).run();
    }

    private Object run() {
        while (true) {
            opStart = pos;
            int op = u8();
            switch (op) {
                case 0x80 -> { // PROTO
                    int version = u8();
                    if (version < 2 || version > 5) {
                        throw corrupt("pickle protocol " + version + " (torch.save writes 2 to 5)");
                    }
                }
                case 0x95 -> bytes(8); // FRAME: a length hint only, the opcodes inside read as usual
                case 0x28 -> marks.add(stack.size()); // MARK
                case 0x2e -> { // STOP
                    if (stack.size() != 1 || !marks.isEmpty()) {
                        throw corrupt("pickle stops with " + stack.size() + " values on the stack");
                    }
                    return stack.getFirst();
                }
                case 0x7d -> push(new LinkedHashMap<>()); // EMPTY_DICT
                case 0x5d -> push(new ArrayList<>()); // EMPTY_LIST
                case 0x29 -> push(new Tuple(List.of())); // EMPTY_TUPLE
                case 0x74 -> push(new Tuple(popToMark())); // TUPLE
                case 0x85, 0x86, 0x87 -> push(new Tuple(popN(op - 0x84))); // TUPLE1..3
                case 0x71 -> memo.put((long) u8(), peek()); // BINPUT
                case 0x72 -> memo.put(u32(), peek()); // LONG_BINPUT
                case 0x94 -> memo.put((long) memo.size(), peek()); // MEMOIZE
                case 0x68 -> push(memoGet(u8())); // BINGET
                case 0x6a -> push(memoGet(u32())); // LONG_BINGET
                case 0x4a -> push((long) (int) le(4)); // BININT
                case 0x4b -> push((long) u8()); // BININT1
                case 0x4d -> push(le(2)); // BININT2
                case 0x8a -> push(long1()); // LONG1
                case 0x47 -> push(Double.longBitsToDouble(Long.reverseBytes(le(8)))); // BINFLOAT, big-endian
                case 0x88 -> push(Boolean.TRUE); // NEWTRUE
                case 0x89 -> push(Boolean.FALSE); // NEWFALSE
                case 0x4e -> push(null); // NONE
                case 0x58 -> push(utf8(bytes(length(u32())))); // BINUNICODE
                case 0x8c -> push(utf8(bytes(u8()))); // SHORT_BINUNICODE
                case 0x8d -> push(utf8(bytes(length(le(8))))); // BINUNICODE8
                case 0x43 -> push(bytes(u8())); // SHORT_BINBYTES
                case 0x42 -> push(bytes(length(u32()))); // BINBYTES
                case 0x63 -> push(global(line(), line())); // GLOBAL
                case 0x93 -> { // STACK_GLOBAL
                    String name = pop(String.class, "STACK_GLOBAL name");
                    push(global(pop(String.class, "STACK_GLOBAL module"), name));
                }
                case 0x52 -> { // REDUCE
                    Tuple args = pop(Tuple.class, "REDUCE arguments");
                    push(reduce(pop(Global.class, "REDUCE callable"), args.items()));
                }
                case 0x62 -> { // BUILD: only a dict's attributes (state_dict._metadata), which we drop
                    pop(Object.class, "BUILD state");
                    peekMap("BUILD target");
                }
                case 0x73 -> { // SETITEM
                    Object value = pop(Object.class, "SETITEM value");
                    Object key = pop(Object.class, "SETITEM key");
                    put(peekMap("SETITEM target"), key, value);
                }
                case 0x75 -> { // SETITEMS
                    List<Object> items = popToMark();
                    Map<Object, Object> map = peekMap("SETITEMS target");
                    if (items.size() % 2 != 0) {
                        throw corrupt("SETITEMS with an odd number of values");
                    }
                    for (int i = 0; i < items.size(); i += 2) {
                        put(map, items.get(i), items.get(i + 1));
                    }
                }
                case 0x61 -> { // APPEND
                    Object value = pop(Object.class, "APPEND value");
                    peekList("APPEND target").add(value);
                }
                case 0x65 -> { // APPENDS
                    List<Object> items = popToMark();
                    peekList("APPENDS target").addAll(items);
                }
                case 0x51 -> push(storage(pop(Tuple.class, "BINPERSID id").items())); // BINPERSID
                case 0x30 -> pop(Object.class, "POP"); // POP
                default -> throw refused("pickle opcode " + opcodeName(op));
            }
        }
    }

    private Global global(String module, String name) {
        Global g = ALLOWED.get(module + " " + name);
        if (g != null) {
            return g;
        }
        if (module.equals("torch") && (name.endsWith("Storage") || OTHER_TORCH_DTYPES.contains(name))) {
            throw new AdapterException(source + ": holds tensors of type torch." + name
                    + "; loraxj reads float32, bfloat16 and float16 adapters");
        }
        throw refused("global " + printable(module) + "." + printable(name));
    }

    private Object reduce(Global fn, List<Object> args) {
        return switch (fn.kind()) {
            case ORDERED_DICT -> {
                if (!args.isEmpty()) {
                    throw corrupt("collections.OrderedDict called with arguments");
                }
                yield new LinkedHashMap<>();
            }
            case REBUILD_TENSOR_V2 -> tensor(fn, args, 6, null);
            case REBUILD_TENSOR_V3 -> {
                Global dtype = args.size() > 6 && args.get(6) instanceof Global g && g.kind() == Kind.DTYPE ? g : null;
                if (dtype == null) {
                    throw corrupt(fn.name() + " without a float32, bfloat16 or float16 dtype");
                }
                yield tensor(fn, args, 7, dtype.dtype());
            }
            case REBUILD_PARAMETER -> {
                if (args.isEmpty() || !(args.getFirst() instanceof TensorRef t)) {
                    throw corrupt(fn.name() + " applied to something other than a tensor");
                }
                yield t;
            }
            case STORAGE, DTYPE -> throw refused("call of " + fn.name());
        };
    }

    // args: (storage, storage_offset, size, stride, requires_grad, backward_hooks[, dtype][, metadata])
    private TensorRef tensor(Global fn, List<Object> args, int fixed, DType dtype) {
        if (args.size() < fixed || args.size() > fixed + 1 || !(args.get(0) instanceof StorageRef storage)
                || !(args.get(1) instanceof Long offset) || !(args.get(2) instanceof Tuple size)
                || !(args.get(3) instanceof Tuple stride) || !(args.get(4) instanceof Boolean)) {
            throw corrupt(fn.name() + " with arguments that do not describe a tensor");
        }
        DType type = dtype != null ? dtype : storage.dtype();
        if (type == null) {
            throw corrupt(fn.name() + " over an untyped storage without a dtype");
        }
        if (dtype != null && storage.dtype() != null && storage.dtype() != dtype) {
            throw corrupt("a " + dtype.torchName() + " tensor over a " + storage.dtype().torchName() + " storage");
        }
        long[] sizes = longs(size, "size");
        long[] strides = longs(stride, "stride");
        if (sizes.length != strides.length) {
            throw corrupt("a tensor with " + sizes.length + " sizes but " + strides.length + " strides");
        }
        return new TensorRef(storage, type, offset, sizes, strides);
    }

    // pid: ('storage', storage class or dtype, key, location, numel)
    private StorageRef storage(List<Object> pid) {
        if (pid.size() != 5 || !"storage".equals(pid.get(0)) || !(pid.get(1) instanceof Global type)
                || (type.kind() != Kind.STORAGE && type.kind() != Kind.DTYPE) || !(pid.get(2) instanceof String key)
                || !(pid.get(3) instanceof String) || !(pid.get(4) instanceof Long numel)) {
            throw corrupt("a persistent id that is not ('storage', type, key, location, numel)");
        }
        if (!key.matches("[A-Za-z0-9_]{1,64}") || numel < 0) {
            throw corrupt("storage key '" + printable(key) + "' with " + numel + " elements");
        }
        return new StorageRef(key, type.dtype(), numel);
    }

    private void put(Map<Object, Object> map, Object key, Object value) {
        if (!(key instanceof String) && !(key instanceof Long)) {
            throw corrupt("a dict key that is not a string or an integer");
        }
        map.put(key, value);
    }

    private long[] longs(Tuple tuple, String what) {
        List<Object> items = tuple.items();
        if (items.size() > MAX_RANK) {
            throw corrupt("a tensor " + what + " of rank " + items.size());
        }
        long[] out = new long[items.size()];
        for (int i = 0; i < out.length; i++) {
            if (!(items.get(i) instanceof Long v) || v < 0) {
                throw corrupt("a tensor " + what + " that is not a tuple of non-negative integers");
            }
            out[i] = v;
        }
        return out;
    }

    private long long1() {
        int n = u8();
        if (n > 8) {
            throw corrupt("an integer wider than 64 bits");
        }
        long v = le(n);
        return n == 0 || n == 8 ? v : v << (64 - 8 * n) >> (64 - 8 * n); // sign-extend two's complement
    }

    private List<Object> popToMark() {
        if (marks.isEmpty()) {
            throw corrupt(opcodeName(in[opStart] & 0xFF) + " without a MARK");
        }
        return popFrom(marks.removeLast());
    }

    private List<Object> popN(int n) {
        if (stack.size() - n < (marks.isEmpty() ? 0 : marks.getLast())) {
            throw corrupt("a tuple of " + n + " with fewer values on the stack");
        }
        return popFrom(stack.size() - n);
    }

    private List<Object> popFrom(int start) {
        List<Object> top = stack.subList(start, stack.size());
        List<Object> items = new ArrayList<>(top);
        top.clear();
        return items;
    }

    private void push(Object value) {
        stack.add(value);
    }

    private Object peek() {
        if (stack.isEmpty()) {
            throw corrupt(opcodeName(in[opStart] & 0xFF) + " on an empty stack");
        }
        return stack.getLast();
    }

    @SuppressWarnings("unchecked")
    private Map<Object, Object> peekMap(String what) {
        if (!(peek() instanceof Map<?, ?> map)) {
            throw corrupt(what + " that is not a dict");
        }
        return (Map<Object, Object>) map;
    }

    @SuppressWarnings("unchecked")
    private List<Object> peekList(String what) {
        if (!(peek() instanceof ArrayList<?> list)) {
            throw corrupt(what + " that is not a list");
        }
        return (List<Object>) list;
    }

    private <T> T pop(Class<T> type, String what) {
        if (stack.size() <= (marks.isEmpty() ? 0 : marks.getLast())) {
            throw corrupt(what + " missing from the stack");
        }
        Object top = stack.getLast();
        if (top != null && !type.isInstance(top) || top == null && type != Object.class) {
            throw corrupt(what + " of the wrong kind");
        }
        stack.removeLast();
        return type.cast(top);
    }

    private Object memoGet(long index) {
        if (!memo.containsKey(index)) {
            throw corrupt("a memo lookup of entry " + index + " that was never stored");
        }
        return memo.get(index);
    }

    private int u8() {
        if (pos >= in.length) {
            throw truncated();
        }
        return in[pos++] & 0xFF;
    }

    private long le(int n) {
        long v = 0;
        for (int i = 0; i < n; i++) {
            v |= (long) u8() << (8 * i);
        }
        return v;
    }

    private long u32() {
        return le(4);
    }

    private int length(long n) {
        if (n < 0 || n > in.length - pos) {
            throw truncated();
        }
        return (int) n;
    }

    private byte[] bytes(int n) {
        length(n);
        byte[] out = new byte[n];
        System.arraycopy(in, pos, out, 0, n);
        pos += n;
        return out;
    }

    private String line() {
        int start = pos;
        while (u8() != '\n') {
            if (pos - start > 256) {
                throw corrupt("a GLOBAL name longer than 256 bytes");
            }
        }
        return utf8(java.util.Arrays.copyOfRange(in, start, pos - 1));
    }

    private static String utf8(byte[] bytes) {
        return new String(bytes, StandardCharsets.UTF_8); // lenient: a name is only compared, never resolved
    }

    private AdapterException refused(String what) {
        return new AdapterException(source + ": data.pkl contains " + what + " at byte " + opStart
                + ", outside the torch tensor format; the file was not loaded");
    }

    private AdapterException corrupt(String what) {
        return new AdapterException(source + ": corrupt data.pkl: " + what + " at byte " + opStart);
    }

    private AdapterException truncated() {
        return new AdapterException(source + ": corrupt data.pkl: it ends inside the opcode at byte " + opStart
                + " (truncated?)");
    }

    private static String printable(String s) {
        String cut = s.length() > 80 ? s.substring(0, 80) + "..." : s;
        return cut.replaceAll("[^\\x20-\\x7e]", "?");
    }

    private static String opcodeName(int op) {
        String name = switch (op) {
            case 0x69 -> "INST";
            case 0x6f -> "OBJ";
            case 0x81 -> "NEWOBJ";
            case 0x92 -> "NEWOBJ_EX";
            case 0x82, 0x83, 0x84 -> "EXT";
            case 0x50 -> "PERSID";
            default -> op >= 0x20 && op < 0x7f ? "'" + (char) op + "'" : "";
        };
        return String.format("0x%02x", op) + (name.isEmpty() ? "" : " (" + name + ")");
    }
}
