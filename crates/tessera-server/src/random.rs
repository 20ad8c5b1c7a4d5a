//! Random identifiers and secrets, all from aws-lc-rs's system RNG.

use std::cell::RefCell;

use aws_lc_rs::rand::{SecureRandom, SystemRandom};

fn bytes(n: usize) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; n];
    SystemRandom::new().fill(&mut buf).ok()?;
    Some(buf)
}

/// `n` random bytes as unpadded base64url: token ids, refresh tokens,
/// client ids and secrets. `None` only if the system RNG fails.
pub fn base64url(n: usize) -> Option<String> {
    bytes(n).map(|b| base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, b))
}

/// How many random bytes a thread draws at once for [`id`].
const POOL: usize = 1024;

/// A thread's unused random bytes, drawn from the system RNG [`POOL`] at a
/// time.
struct Pool {
    bytes: [u8; POOL],
    used: usize,
}

thread_local! {
    static POOLED: RefCell<Pool> = const { RefCell::new(Pool { bytes: [0; POOL], used: POOL }) };
}

/// `n` random bytes (at most 1 KiB) as unpadded base64url, for the
/// identifiers made on every request: access token ids (`jti`) and request
/// ids. The bytes come from the same system RNG as [`base64url`], drawn a
/// kilobyte at a time per thread, because one call into the RNG costs more
/// than the identifier (issue 22's profile of the token path). Not for
/// secrets: those are drawn with [`base64url`] when they are made, so no
/// secret waits in memory before it exists.
pub fn id(n: usize) -> Option<String> {
    let mut out = [0u8; POOL];
    let out = out.get_mut(..n)?;
    POOLED.with(|pool| {
        let mut pool = pool.try_borrow_mut().ok()?;
        if pool.used + n > POOL {
            SystemRandom::new().fill(&mut pool.bytes).ok()?;
            pool.used = 0;
        }
        let from = pool.used;
        out.copy_from_slice(pool.bytes.get(from..from + n)?);
        pool.used += n;
        Some(())
    })?;
    Some(base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        out,
    ))
}

/// `n` random bytes as lowercase hex: user ids.
pub fn hex(n: usize) -> Option<String> {
    bytes(n).map(|b| b.iter().map(|x| format!("{x:02x}")).collect())
}

/// A random number in `0..n` (0 when `n` is 0 or the RNG fails), for
/// jittering retry pauses; slightly biased, which a pause does not mind.
pub fn below(n: u64) -> u64 {
    let Some(b) = bytes(8) else { return 0 };
    let mut word = [0u8; 8];
    word.copy_from_slice(&b);
    u64::from_le_bytes(word).checked_rem(n).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn lengths_and_uniqueness() {
        let a = super::base64url(32).unwrap();
        assert_eq!(a.len(), 43);
        assert_ne!(a, super::base64url(32).unwrap());
        assert_eq!(super::hex(16).unwrap().len(), 32);
        assert!((0..100).all(|_| super::below(7) < 7));
        assert_eq!(super::below(0), 0);
    }

    #[test]
    fn pooled_ids_are_unique_across_refills_and_threads() {
        // 3 pools' worth on each of 4 threads: every refill and every
        // thread gives new bytes.
        let ids: Vec<String> = std::thread::scope(|s| {
            let threads: Vec<_> = (0..4)
                .map(|_| {
                    s.spawn(|| {
                        (0..3 * super::POOL / 12)
                            .map(|_| super::id(12).unwrap())
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            threads.into_iter().flat_map(|t| t.join().unwrap()).collect()
        });
        assert!(ids.iter().all(|i| i.len() == 16));
        let distinct: std::collections::HashSet<&String> = ids.iter().collect();
        assert_eq!(distinct.len(), ids.len());
        assert_eq!(super::id(16).unwrap().len(), 22);
        assert!(super::id(super::POOL + 1).is_none());
    }
}
