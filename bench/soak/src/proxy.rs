//! A TCP proxy between clients and the router that misbehaves on purpose.
//!
//! Real networks do not fail politely: packets are late, a link freezes for seconds and
//! comes back, a middlebox drops a connection in the middle of a frame. The router and the
//! client must survive all of that without hanging a call or losing a subscription, so
//! the soak puts this proxy in front of some clients. It forwards bytes both ways and,
//! decided by a seeded RNG per connection, delays a chunk, stalls one direction for a
//! while, forwards only part of a chunk and then cuts the connection (a frame truncated
//! mid-way), or cuts the connection at a random moment (half of the cuts as a TCP reset).
//! The proxy stays up while the router restarts; a client connecting then is refused by
//! closing its connection, as a dead router would.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// What the proxy does to the traffic of each connection.
#[derive(Clone, Debug)]
pub struct FaultProfile {
    /// Chance per forwarded chunk that it is delayed by up to `delay_max`.
    pub delay_chance: f64,
    /// The longest delay of a chunk.
    pub delay_max: Duration,
    /// Chance per forwarded chunk that its direction stalls for up to `stall_max`.
    pub stall_chance: f64,
    /// The longest stall.
    pub stall_max: Duration,
    /// Chance per forwarded chunk that only part of it is forwarded and the connection is
    /// then cut.
    pub truncate_chance: f64,
    /// Chance per forwarded chunk that the connection becomes a black hole: nothing is
    /// forwarded either way, and the router's side stays open for up to `blackhole_max`
    /// even after the client gave up, as in a network partition (the router sees neither
    /// data nor a close).
    pub blackhole_chance: f64,
    /// The longest black hole.
    pub blackhole_max: Duration,
    /// Mean time a connection lives before it is cut (exponentially distributed);
    /// `None`: never cut.
    pub cut_after_mean: Option<Duration>,
}

impl FaultProfile {
    /// Connections are only cut, at random moments: a flaky network that fails fast.
    pub fn cutting(mean: Duration) -> Self {
        FaultProfile {
            delay_chance: 0.0,
            delay_max: Duration::ZERO,
            stall_chance: 0.0,
            stall_max: Duration::ZERO,
            truncate_chance: 0.0,
            blackhole_chance: 0.0,
            blackhole_max: Duration::ZERO,
            cut_after_mean: Some(mean),
        }
    }

    /// Everything: delays, stalls, truncated frames and cuts.
    pub fn hostile(cut_after_mean: Duration) -> Self {
        FaultProfile {
            delay_chance: 0.05,
            delay_max: Duration::from_millis(200),
            stall_chance: 0.004,
            stall_max: Duration::from_secs(6),
            truncate_chance: 0.002,
            blackhole_chance: 0.0005,
            blackhole_max: Duration::from_secs(20),
            cut_after_mean: Some(cut_after_mean),
        }
    }
}

/// What the proxy did, for the report.
#[derive(Debug, Default)]
pub struct FaultCounts {
    /// Connections accepted from clients.
    pub connections: AtomicU64,
    /// Connections refused because the router was not there.
    pub refused: AtomicU64,
    /// Chunks delayed.
    pub delays: AtomicU64,
    /// Stalls.
    pub stalls: AtomicU64,
    /// Connections cut after a truncated chunk.
    pub truncations: AtomicU64,
    /// Connections cut at a random moment.
    pub cuts: AtomicU64,
    /// Connections turned into black holes.
    pub blackholes: AtomicU64,
}

struct Shared {
    upstream: SocketAddr,
    profile: FaultProfile,
    /// Off once the soak checks the final state: from then on the proxy only forwards,
    /// and delays and stalls under way end at once.
    faults_on: watch::Sender<bool>,
    counts: Arc<FaultCounts>,
}

impl Shared {
    /// Holds traffic for `d`, or until the proxy is calmed.
    async fn hold(&self, d: Duration) {
        let mut faults = self.faults_on.subscribe();
        tokio::select! {
            _ = tokio::time::sleep(d) => {}
            _ = faults.wait_for(|on| !on) => {}
        }
    }
}

/// A running proxy; it stops when dropped.
pub struct FaultProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    _stop: watch::Sender<()>,
}

impl FaultProxy {
    /// Listens on a free local port and forwards to `upstream`. `seed` decides every fault.
    pub async fn start(
        upstream: SocketAddr,
        profile: FaultProfile,
        seed: u64,
        counts: Arc<FaultCounts>,
    ) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            upstream,
            profile,
            faults_on: watch::Sender::new(true),
            counts,
        });
        let (stop, stopped) = watch::channel(());
        tokio::spawn(accept_loop(listener, shared.clone(), seed, stopped));
        Ok(FaultProxy {
            addr,
            shared,
            _stop: stop,
        })
    }

    /// Where clients connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops making faults: from now on traffic is only forwarded; stalled connections
    /// flow again.
    pub fn calm(&self) {
        self.shared.faults_on.send_replace(false);
    }
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    seed: u64,
    mut stopped: watch::Receiver<()>,
) {
    let mut seeds = StdRng::seed_from_u64(seed);
    loop {
        let accepted = tokio::select! {
            _ = stopped.changed() => return,
            accepted = listener.accept() => accepted,
        };
        let Ok((client, _)) = accepted else {
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        };
        shared.counts.connections.fetch_add(1, Ordering::Relaxed);
        let rng = StdRng::seed_from_u64(seeds.random());
        let shared = shared.clone();
        let stopped = stopped.clone();
        tokio::spawn(async move {
            let mut stopped = stopped;
            tokio::select! {
                _ = stopped.changed() => {}
                _ = serve(client, shared, rng) => {}
            }
        });
    }
}

/// Why a direction stopped forwarding.
enum PumpEnd {
    /// End of stream or a socket error: the connection is over.
    Closed,
    /// We truncated a chunk: cut the connection.
    Truncated,
    /// Hold both sides open, forwarding nothing, this long.
    Blackhole(Duration),
}

async fn serve(mut client: TcpStream, shared: Arc<Shared>, mut rng: StdRng) {
    let connected =
        tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(shared.upstream)).await;
    let Ok(Ok(mut upstream)) = connected else {
        shared.counts.refused.fetch_add(1, Ordering::Relaxed);
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = upstream.set_nodelay(true);
    let cut_after = shared.profile.cut_after_mean.map(|mean| {
        // Exponential: most connections are cut early, a few live long.
        let u: f64 = rng.random_range(f64::EPSILON..1.0);
        mean.mul_f64(-u.ln())
    });
    let reset = rng.random_bool(0.5);
    let rng = Mutex::new(rng);
    let mut blackhole = None;
    let cut = {
        let (mut client_read, mut client_write) = client.split();
        let (mut upstream_read, mut upstream_write) = upstream.split();
        let cut_timer = async {
            if let Some(after) = cut_after {
                tokio::time::sleep(after).await;
                if *shared.faults_on.borrow() {
                    return;
                }
            }
            std::future::pending::<()>().await
        };
        let end = |end: PumpEnd, blackhole: &mut Option<Duration>| match end {
            PumpEnd::Closed => false,
            PumpEnd::Truncated => true,
            PumpEnd::Blackhole(d) => {
                *blackhole = Some(d);
                false
            }
        };
        tokio::select! {
            e = pump(&mut client_read, &mut upstream_write, &shared, &rng) => end(e, &mut blackhole),
            e = pump(&mut upstream_read, &mut client_write, &shared, &rng) => end(e, &mut blackhole),
            _ = cut_timer => {
                shared.counts.cuts.fetch_add(1, Ordering::Relaxed);
                true
            }
        }
    };
    if let Some(d) = blackhole {
        // Both sockets stay open and unread until the black hole ends (or the proxy is
        // calmed): the router's side learns nothing.
        shared.hold(d).await;
    }
    if cut && reset {
        // Linger zero: closing sends a TCP reset instead of an orderly FIN.
        let _ = client.set_zero_linger();
        let _ = upstream.set_zero_linger();
    }
}

/// Forwards one direction, making faults as the profile says.
async fn pump(
    from: &mut tokio::net::tcp::ReadHalf<'_>,
    to: &mut tokio::net::tcp::WriteHalf<'_>,
    shared: &Shared,
    rng: &Mutex<StdRng>,
) -> PumpEnd {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return PumpEnd::Closed,
            Ok(n) => n,
        };
        let fault = if *shared.faults_on.borrow() {
            decide(&shared.profile, rng, n)
        } else {
            Fault::None
        };
        match fault {
            Fault::None => {}
            Fault::Delay(d) => {
                shared.counts.delays.fetch_add(1, Ordering::Relaxed);
                shared.hold(d).await;
            }
            Fault::Stall(d) => {
                shared.counts.stalls.fetch_add(1, Ordering::Relaxed);
                shared.hold(d).await;
            }
            Fault::Blackhole(d) => {
                shared.counts.blackholes.fetch_add(1, Ordering::Relaxed);
                return PumpEnd::Blackhole(d);
            }
            Fault::Truncate(keep) => {
                shared.counts.truncations.fetch_add(1, Ordering::Relaxed);
                let _ = to.write_all(&buf[..keep]).await;
                let _ = to.flush().await;
                return PumpEnd::Truncated;
            }
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return PumpEnd::Closed;
        }
    }
}

enum Fault {
    None,
    Delay(Duration),
    Stall(Duration),
    /// Forward this many bytes of the chunk, then cut.
    Truncate(usize),
    /// Forward nothing more, keep both sides open this long.
    Blackhole(Duration),
}

fn decide(profile: &FaultProfile, rng: &Mutex<StdRng>, len: usize) -> Fault {
    let Ok(mut rng) = rng.lock() else {
        return Fault::None;
    };
    let roll: f64 = rng.random();
    let mut threshold = profile.truncate_chance;
    if roll < threshold {
        return Fault::Truncate(rng.random_range(0..len));
    }
    threshold += profile.blackhole_chance;
    if roll < threshold {
        return Fault::Blackhole(profile.blackhole_max.mul_f64(rng.random_range(0.3..1.0)));
    }
    threshold += profile.stall_chance;
    if roll < threshold {
        return Fault::Stall(profile.stall_max.mul_f64(rng.random_range(0.1..1.0)));
    }
    threshold += profile.delay_chance;
    if roll < threshold {
        return Fault::Delay(profile.delay_max.mul_f64(rng.random()));
    }
    Fault::None
}
