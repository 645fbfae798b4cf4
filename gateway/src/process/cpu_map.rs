//! `cpu-map [auto:]1/THREADS CPUS`: which CPUs each worker thread may run
//! on. `1/all 0-1` gives every thread CPUs 0 and 1; `auto:1/1-4 0-3` gives
//! thread 1 CPU 0, thread 2 CPU 1, and so on.

use switchyard_grammar::ast::global::CpuMap;

/// The CPUs of each thread (index 0 is thread 1); empty: no pinning.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ThreadPinning {
    per_thread: Vec<Vec<u32>>,
}

impl ThreadPinning {
    pub fn new(maps: &[CpuMap], threads: usize) -> ThreadPinning {
        let mut per_thread = vec![Vec::new(); threads];
        for map in maps {
            let chosen: Vec<u32> = match &map.threads {
                None => (1..=threads as u32).collect(),
                Some(list) => list.clone(),
            };
            for (i, thread) in chosen.iter().enumerate() {
                let Some(slot) = per_thread.get_mut(*thread as usize - 1) else {
                    continue;
                };
                *slot = if map.auto {
                    // One CPU each, in order; the CPU list wraps around.
                    map.cpus
                        .get(i % map.cpus.len().max(1))
                        .map(|c| vec![*c])
                        .unwrap_or_default()
                } else {
                    map.cpus.clone()
                };
            }
        }
        ThreadPinning { per_thread }
    }

    pub fn cpus_of(&self, thread_index: usize) -> &[u32] {
        self.per_thread
            .get(thread_index)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    pub fn is_empty(&self) -> bool {
        self.per_thread.iter().all(Vec::is_empty)
    }
}

/// Pins the calling thread to `cpus` (nothing to do for an empty list).
pub fn pin_current_thread(cpus: &[u32]) -> nix::Result<()> {
    if cpus.is_empty() {
        return Ok(());
    }
    let mut set = nix::sched::CpuSet::new();
    for cpu in cpus {
        set.set(*cpu as usize)?;
    }
    nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(auto: bool, threads: Option<Vec<u32>>, cpus: Vec<u32>) -> CpuMap {
        CpuMap {
            auto,
            process: Some("1".into()),
            threads,
            cpus,
            span: Default::default(),
        }
    }

    #[test]
    fn haproxys_forms() {
        let all = ThreadPinning::new(&[map(false, None, vec![0, 1])], 2);
        assert_eq!(all.cpus_of(0), &[0, 1]);
        assert_eq!(all.cpus_of(1), &[0, 1]);
        let auto = ThreadPinning::new(&[map(true, Some(vec![1, 2, 3]), vec![0, 1])], 3);
        assert_eq!(auto.cpus_of(0), &[0]);
        assert_eq!(auto.cpus_of(1), &[1]);
        assert_eq!(auto.cpus_of(2), &[0]);
        let one = ThreadPinning::new(&[map(false, Some(vec![2]), vec![1])], 2);
        assert!(one.cpus_of(0).is_empty());
        assert_eq!(one.cpus_of(1), &[1]);
        assert!(ThreadPinning::new(&[], 4).is_empty());
        // A thread beyond nbthread is ignored.
        assert!(ThreadPinning::new(&[map(false, Some(vec![9]), vec![0])], 2).is_empty());
    }

    #[test]
    fn pinning_the_current_thread_to_cpu_0_works() {
        std::thread::spawn(|| pin_current_thread(&[0]).unwrap())
            .join()
            .unwrap();
    }
}
