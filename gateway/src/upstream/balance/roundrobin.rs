//! `balance roundrobin`: HAProxy's "fast weighted round
//! robin" (lb_fwrr.c), reproduced step for step so that the same weights
//! give the same order as HAProxy 2.6 — checked against it: weights 3,1 give
//! `aaab`, 1,2,3 give `cbcacb`, 5,1,1 give `aaabaac`. Each server advances
//! by (total weight / its weight) positions per pick, remainders carried;
//! servers wait in an "init" tree (heaviest first) until their turn.
//! Weights are read at each pick and a new cycle starts when the usable
//! servers or their weights change, so a change applies at once.

use std::sync::{Arc, Mutex};

use super::{Balancer, PickContext};
use crate::upstream::server::Server;

/// HAProxy's constants: user weights are scaled by 16, up to 256 × 16.
const SCALE: u64 = 16;
const EWGHT_MAX: u64 = 256 * SCALE;
const UWGHT_RANGE: u64 = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tree {
    Init,
    Next,
    Curr,
    /// Not usable: in no tree (HAProxy's `lb_tree == NULL`).
    Down,
}

#[derive(Debug, Clone)]
struct Slot {
    /// The server's index in its backend.
    server: usize,
    eweight: u64,
    npos: u64,
    rweight: u64,
    tree: Tree,
    /// Sort key within its tree; `seq` keeps insertion order among equals.
    key: (u64, u64),
}

#[derive(Debug, Default)]
struct State {
    /// (server index, weight) of the candidates the state was built for.
    signature: Vec<(usize, u32)>,
    slots: Vec<Slot>,
    curr_pos: u64,
    curr_weight: u64,
    next_weight: u64,
    seq: u64,
}

impl State {
    fn new(weights: &[(usize, u32)]) -> State {
        let total: u64 = weights.iter().map(|(_, w)| u64::from(*w) * SCALE).sum();
        let mut state = State {
            signature: weights.to_vec(),
            slots: Vec::new(),
            curr_pos: total,
            curr_weight: total,
            next_weight: total,
            seq: 0,
        };
        for (server, w) in weights {
            let eweight = u64::from(*w) * SCALE;
            let key = state.next_key(EWGHT_MAX - eweight);
            state.slots.push(Slot {
                server: *server,
                eweight,
                npos: 0,
                rweight: 0,
                tree: Tree::Init,
                key,
            });
        }
        state
    }

    /// Follows a change of the usable servers as HAProxy's
    /// `fwrr_set_server_status_down`/`_up` do, the others keeping their
    /// places: one that left gives its weight back; one that (re)joins is
    /// placed after the servers already in the window, at `curr_pos +
    /// (next_weight + curr_weight - curr_pos) / eweight`. A weight change
    /// (or no server in common) starts a new cycle.
    fn follow(&mut self, weights: &[(usize, u32)]) {
        let weight_of = |server: usize| weights.iter().find(|(s, _)| *s == server).map(|w| w.1);
        let kept = self
            .signature
            .iter()
            .filter(|(s, _)| weight_of(*s).is_some())
            .count();
        let reweighted = self
            .signature
            .iter()
            .any(|(s, w)| weight_of(*s).is_some_and(|now| now != *w));
        if kept == 0 || reweighted {
            *self = State::new(weights);
            return;
        }
        for i in 0..self.slots.len() {
            let slot = &mut self.slots[i];
            if slot.tree != Tree::Down && weight_of(slot.server).is_none() {
                self.next_weight -= slot.eweight;
                slot.tree = Tree::Down;
            }
        }
        for (server, w) in weights {
            let known = self.slots.iter().position(|s| s.server == *server);
            if known.is_some_and(|i| self.slots[i].tree != Tree::Down) {
                continue;
            }
            let eweight = u64::from(*w) * SCALE;
            let i = known.unwrap_or_else(|| {
                self.slots.push(Slot {
                    server: *server,
                    eweight,
                    npos: 0,
                    rweight: 0,
                    tree: Tree::Down,
                    key: (0, 0),
                });
                self.slots.len() - 1
            });
            self.next_weight += eweight;
            let npos = self.curr_pos
                + (self.next_weight + self.curr_weight - self.curr_pos) / self.slots[i].eweight;
            self.slots[i].npos = npos;
            self.queue(i);
        }
        self.signature = weights.to_vec();
    }

    fn next_key(&mut self, key: u64) -> (u64, u64) {
        self.seq += 1;
        (key, self.seq)
    }

    fn first_in(&self, tree: Tree) -> Option<usize> {
        (0..self.slots.len())
            .filter(|&i| self.slots[i].tree == tree)
            .min_by_key(|&i| self.slots[i].key)
    }

    fn server_from_group(&mut self) -> Option<usize> {
        let curr = self.first_in(Tree::Curr);
        if let Some(i) = curr {
            if self.slots[i].npos <= self.curr_pos {
                return Some(i);
            }
        }
        // A hole in the current window: take a newcomer from "init".
        match self.first_in(Tree::Init) {
            Some(i) => {
                self.slots[i].npos = 0;
                self.slots[i].rweight = 0;
                Some(i)
            }
            None => curr,
        }
    }

    /// The index of the server picked.
    fn pick(&mut self) -> usize {
        if self.curr_weight == 0 {
            self.curr_weight = self.next_weight;
            self.curr_pos = self.next_weight;
        }
        let i = match self.server_from_group() {
            Some(i) => i,
            None => {
                // Switch trees: the "next" tree becomes "init".
                for slot in &mut self.slots {
                    slot.tree = match slot.tree {
                        Tree::Next => Tree::Init,
                        Tree::Init => Tree::Next,
                        other => other,
                    };
                }
                self.curr_weight = self.next_weight;
                self.curr_pos = self.curr_weight;
                self.server_from_group().unwrap_or(0)
            }
        };
        // fwrr_update_position
        let next_weight = self.next_weight;
        let slot = &mut self.slots[i];
        if slot.npos == 0 {
            slot.npos = self.curr_pos;
        }
        slot.npos += next_weight / slot.eweight;
        slot.rweight += next_weight % slot.eweight;
        if slot.rweight >= slot.eweight {
            slot.rweight -= slot.eweight;
            slot.npos += 1;
        }
        self.curr_pos += 1;
        self.queue(i);
        self.slots[i].server
    }

    /// `fwrr_queue_srv`: into the current window, or the next one when the
    /// server's next position lies beyond it.
    fn queue(&mut self, i: usize) {
        let (npos, rweight, eweight) = (
            self.slots[i].npos,
            self.slots[i].rweight,
            self.slots[i].eweight,
        );
        if npos >= 2 * self.curr_weight || npos >= self.curr_weight + self.next_weight {
            let key = self.next_key(EWGHT_MAX - eweight);
            let slot = &mut self.slots[i];
            slot.npos -= self.curr_weight;
            slot.tree = Tree::Next;
            slot.key = key;
        } else {
            let key = self.next_key(UWGHT_RANGE * npos + (EWGHT_MAX + rweight - eweight) / SCALE);
            let slot = &mut self.slots[i];
            slot.tree = Tree::Curr;
            slot.key = key;
        }
    }
}

#[derive(Default)]
pub struct RoundRobin {
    state: Mutex<State>,
}

impl Balancer for RoundRobin {
    fn pick(&self, candidates: &[&Arc<Server>], _ctx: &PickContext<'_>) -> usize {
        let weight = |s: &Arc<Server>| (s.index, s.effective_weight().max(1));
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        // Compared in place: the list is built only when it changed.
        let unchanged = state.signature.len() == candidates.len()
            && state
                .signature
                .iter()
                .zip(candidates)
                .all(|(known, s)| *known == weight(s));
        if !unchanged {
            let weights: Vec<(usize, u32)> = candidates.iter().map(|s| weight(s)).collect();
            if state.signature.is_empty() {
                *state = State::new(&weights);
            } else {
                state.follow(&weights);
            }
        }
        let position = |server: usize| {
            candidates
                .iter()
                .position(|s| s.index == server)
                .unwrap_or(0)
        };
        // A full server's turn passes to the next one in the order
        // (HAProxy's `fwrr_get_next_server`), unless every server is full;
        // a cycle reaches every server, and its length bounds the walk.
        let every_full = candidates.iter().all(|s| super::is_full(s));
        let cycle = state.next_weight / SCALE + 1;
        let mut picked = position(state.pick());
        let mut steps = 0;
        while !every_full && super::is_full(candidates[picked]) && steps < 2 * cycle {
            picked = position(state.pick());
            steps += 1;
        }
        picked
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upstream::balance::testing::servers;

    fn sequence(rr: &RoundRobin, servers: &[Arc<Server>], n: usize) -> String {
        let ctx = crate::upstream::balance::testing::ctx();
        let candidates: Vec<&Arc<Server>> = servers.iter().collect();
        (0..n)
            .map(|_| servers[rr.pick(&candidates, &ctx)].name.clone())
            .collect::<Vec<_>>()
            .join("")
    }

    #[tokio::test]
    async fn a_full_server_is_passed_over() {
        let s = servers(&[
            "a 127.0.0.1:1 maxconn 1",
            "b 127.0.0.1:2 maxconn 1",
            "c 127.0.0.1:3",
        ]);
        let rr = RoundRobin::default();
        assert_eq!(sequence(&rr, &s, 3), "abc");
        let _held = s[0].acquire(None, &s[0].queue_positions).await.unwrap();
        // a's turns go to the next server in the order.
        assert_eq!(sequence(&rr, &s, 4), "bcbc");
        let _held_b = s[1].acquire(None, &s[1].queue_positions).await.unwrap();
        assert_eq!(sequence(&rr, &s, 2), "cc");
        drop(_held);
        assert_eq!(sequence(&rr, &s, 2), "ac");
    }

    #[test]
    fn same_order_as_haproxy_for_the_same_weights() {
        // Observed with HAProxy 2.6.12 on loopback origins (docs/gateway.md).
        let cases: &[(&[u32], &str)] = &[
            (&[3, 1], "aaabaaabaaabaaab"),
            (&[1, 2, 3], "cbcacbcbcacb"),
            (&[5, 1, 1], "aaabaacaaabaac"),
            (&[1, 1], "abababab"),
        ];
        for (weights, expected) in cases {
            let lines: Vec<String> = weights
                .iter()
                .enumerate()
                .map(|(i, w)| format!("{} 127.0.0.1:{} weight {w}", ["a", "b", "c"][i], i + 1))
                .collect();
            let s = servers(&lines.iter().map(String::as_str).collect::<Vec<_>>());
            assert_eq!(
                sequence(&RoundRobin::default(), &s, expected.len()),
                *expected,
                "weights {weights:?}"
            );
        }
    }

    #[test]
    fn a_server_back_up_rejoins_after_the_others_as_in_haproxy() {
        // HAProxy 2.6 with two equal servers: s1 goes down, s2 takes the
        // traffic, s1 comes back and s2 still answers first, the others
        // keeping their places in the cycle (fwrr_set_server_status_up).
        let s = servers(&["a 127.0.0.1:1", "b 127.0.0.1:2"]);
        let rr = RoundRobin::default();
        let ctx = crate::upstream::balance::testing::ctx();
        let both: Vec<&Arc<Server>> = s.iter().collect();
        let only_b = vec![&s[1]];
        let name = |candidates: &[&Arc<Server>]| candidates[rr.pick(candidates, &ctx)].name.clone();
        assert_eq!(name(&both) + &name(&both), "ab");
        assert_eq!(name(&only_b) + &name(&only_b), "bb");
        let after: String = (0..6).map(|_| name(&both)).collect();
        assert_eq!(after, "bababa");

        // Weights 3 and 2, each server leaving and coming back in turn
        // (HAProxy 2.6.12, `disable server`/`enable server`).
        let s = servers(&["a 127.0.0.1:1 weight 3", "b 127.0.0.1:2 weight 2"]);
        let rr = RoundRobin::default();
        let name = |candidates: &[&Arc<Server>]| candidates[rr.pick(candidates, &ctx)].name.clone();
        let both: Vec<&Arc<Server>> = s.iter().collect();
        let picks =
            |candidates: &[&Arc<Server>], n| (0..n).map(|_| name(candidates)).collect::<String>();
        assert_eq!(picks(&both, 3), "aab");
        assert_eq!(picks(&[&s[1]], 2), "bb");
        assert_eq!(picks(&both, 12), "ababaababaab");
        assert_eq!(picks(&[&s[0]], 1), "a");
        assert_eq!(picks(&both, 12), "ababaababaab");
    }

    #[test]
    fn weight_changes_apply_at_once() {
        let s = servers(&["a 127.0.0.1:1", "b 127.0.0.1:2"]);
        let rr = RoundRobin::default();
        assert_eq!(sequence(&rr, &s, 4), "abab");
        s[1].set_weight(3);
        assert_eq!(sequence(&rr, &s, 8).matches('b').count(), 6);
    }
}
