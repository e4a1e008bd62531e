//! rayon_peer: Rayon as a peer of the benchmarks, behind the C API of rayon_peer.h.
//!
//! Rayon drives the same C kernels as the other variants: a body is called on contiguous
//! index ranges [lo, hi), split exactly as `(0..n).into_par_iter().with_min_len(min_len)`
//! splits (Rayon's own bridge and length splitter), one call per leaf rather than one per
//! index, so that the kernel's inner loop stays the C loop the others run.

use rayon::iter::plumbing::{bridge, Consumer, Producer, ProducerCallback, UnindexedConsumer};
use rayon::prelude::*;
use rayon::{ThreadPool, ThreadPoolBuilder};
use std::os::raw::{c_int, c_void};
use std::ptr;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::time::Instant;

type Body = extern "C" fn(ctx: *mut c_void, lo: usize, hi: usize);
type Fold = extern "C" fn(ctx: *mut c_void, lo: usize, hi: usize, acc: *mut f64);
type Task = extern "C" fn(ctx: *mut c_void);

/// The caller's context pointer, shared by every thread of a call: the C side owns what it
/// points to and makes its use thread-safe (each leaf touches its own range).
#[derive(Clone, Copy)]
struct Ctx(*mut c_void);
unsafe impl Send for Ctx {}
unsafe impl Sync for Ctx {}

/// The pool of rayon_peer_init (null before it: calls then run on Rayon's global pool).
static POOL: AtomicPtr<ThreadPool> = AtomicPtr::new(ptr::null_mut());

/// Runs `f` on the peer's pool, as a caller outside the pool enters it (install).
fn on_pool<R: Send, F: FnOnce() -> R + Send>(f: F) -> R {
    let pool = POOL.load(Ordering::Acquire);
    if pool.is_null() {
        f()
    } else {
        // Safety: a pool is freed only by rayon_peer_init, which the header says not to call
        // while another rayon_peer_ call runs.
        unsafe { (*pool).install(f) }
    }
}

/// The index range [0, n) as a parallel iterator whose leaves are ranges: it splits as a
/// range of n indices does (len() is n), but each leaf yields one item, its (lo, hi).
/// Only for for_each / fold / reduce, which do not count items.
struct Leaves {
    n: usize,
}

struct LeafProducer {
    lo: usize,
    hi: usize,
}

impl Producer for LeafProducer {
    type Item = (usize, usize);
    type IntoIter = std::option::IntoIter<(usize, usize)>;

    fn into_iter(self) -> Self::IntoIter {
        if self.lo < self.hi { Some((self.lo, self.hi)) } else { None }.into_iter()
    }

    fn split_at(self, index: usize) -> (Self, Self) {
        let mid = self.lo + index;
        (LeafProducer { lo: self.lo, hi: mid }, LeafProducer { lo: mid, hi: self.hi })
    }
}

impl ParallelIterator for Leaves {
    type Item = (usize, usize);

    fn drive_unindexed<C: UnindexedConsumer<Self::Item>>(self, consumer: C) -> C::Result {
        bridge(self, consumer)
    }

    fn opt_len(&self) -> Option<usize> {
        Some(self.n)
    }
}

impl IndexedParallelIterator for Leaves {
    fn drive<C: Consumer<Self::Item>>(self, consumer: C) -> C::Result {
        bridge(self, consumer)
    }

    fn len(&self) -> usize {
        self.n
    }

    fn with_producer<CB: ProducerCallback<Self::Item>>(self, callback: CB) -> CB::Output {
        callback.callback(LeafProducer { lo: 0, hi: self.n })
    }
}

#[no_mangle]
pub extern "C" fn rayon_peer_init(threads: usize) -> c_int {
    if threads == 0 {
        return -1;
    }
    match ThreadPoolBuilder::new().num_threads(threads).build() {
        Ok(pool) => {
            let old = POOL.swap(Box::into_raw(Box::new(pool)), Ordering::AcqRel);
            if !old.is_null() {
                // Safety: old came from Box::into_raw above and no call uses it any more.
                drop(unsafe { Box::from_raw(old) });
            }
            0
        }
        Err(_) => -1,
    }
}

#[no_mangle]
pub extern "C" fn rayon_peer_for(n: usize, min_len: usize, body: Option<Body>, ctx: *mut c_void) {
    let body = match body {
        Some(b) => b,
        None => return,
    };
    let ctx = Ctx(ctx);
    on_pool(|| {
        Leaves { n }
            .with_min_len(min_len.max(1))
            .for_each(|(lo, hi)| body(ctx.0, lo, hi))
    });
}

fn add_into(mut a: Vec<f64>, b: Vec<f64>) -> Vec<f64> {
    for (x, y) in a.iter_mut().zip(&b) {
        *x += *y;
    }
    a
}

#[no_mangle]
pub extern "C" fn rayon_peer_reduce(
    n: usize,
    min_len: usize,
    acc_len: usize,
    fold: Option<Fold>,
    ctx: *mut c_void,
    out: *mut f64,
) {
    let fold = match fold {
        Some(f) if !out.is_null() || acc_len == 0 => f,
        _ => return,
    };
    let ctx = Ctx(ctx);
    let total = on_pool(|| {
        Leaves { n }
            .with_min_len(min_len.max(1))
            .fold(
                || vec![0.0; acc_len],
                |mut acc, (lo, hi)| {
                    fold(ctx.0, lo, hi, acc.as_mut_ptr());
                    acc
                },
            )
            .reduce(|| vec![0.0; acc_len], add_into)
    });
    if acc_len > 0 {
        // Safety: the caller gives out[0..acc_len).
        unsafe { ptr::copy_nonoverlapping(total.as_ptr(), out, acc_len) };
    }
}

#[no_mangle]
pub extern "C" fn rayon_peer_join(a: Option<Task>, b: Option<Task>, ctx: *mut c_void) {
    let ctx = Ctx(ctx);
    on_pool(|| {
        rayon::join(
            || {
                if let Some(a) = a {
                    a(ctx.0)
                }
            },
            || {
                if let Some(b) = b {
                    b(ctx.0)
                }
            },
        )
    });
}

#[no_mangle]
pub extern "C" fn rayon_peer_empty_join_ns(iters: usize) -> f64 {
    if iters == 0 {
        return 0.0;
    }
    on_pool(|| {
        let start = Instant::now();
        for _ in 0..iters {
            rayon::join(|| (), || ());
        }
        start.elapsed().as_nanos() as f64 / iters as f64
    })
}
