package dev.loraxj.backend;

/**
 * Bytes a backend holds for one adapter, per memory tier: {@code device} is the memory its kernels
 * read (GPU memory; for the CPU backend, whose device is the host, its own RAM), {@code host} is a
 * staging copy kept in host memory to re-upload quickly (none on the CPU).
 */
public record AdapterFootprint(long device, long host) {

    public static final AdapterFootprint NONE = new AdapterFootprint(0, 0);

    public AdapterFootprint {
        if (device < 0 || host < 0) {
            throw new IllegalArgumentException("adapter bytes cannot be negative: device " + device + ", host " + host);
        }
    }

    public AdapterFootprint plus(AdapterFootprint o) {
        return new AdapterFootprint(device + o.device, host + o.host);
    }

    public AdapterFootprint minus(AdapterFootprint o) {
        return new AdapterFootprint(device - o.device, host - o.host);
    }

    /** Both tiers together, for listings. */
    public long total() {
        return device + host;
    }

    /** Whether this fits within {@code budget} in every tier. */
    public boolean fitsIn(AdapterFootprint budget) {
        return device <= budget.device && host <= budget.host;
    }
}
