//! Walks over the dependency graph that [`Resolver`](super::Resolver) produces, one hop at a
//! time, for "what does this file import" and "what imports this file" up to a depth.

use std::collections::HashSet;

/// Breadth-first walk from `start` following edges in one direction ("imports" or
/// "imported by") up to `max_depth` hops, as a state machine: the caller fetches the
/// neighbours of a whole frontier at once (one database query per depth, not one per
/// file) and feeds them back. Each reached path is reported once with its smallest
/// depth, sorted by (depth, path) so results are stable; `start` is excluded even when a
/// cycle leads back to it.
pub struct Walk {
    seen: HashSet<String>,
    frontier: Vec<String>,
    depth: u32,
    max_depth: u32,
    result: Vec<(String, u32)>,
}

impl Walk {
    pub fn new(start: &str, max_depth: u32) -> Walk {
        Walk {
            seen: HashSet::from([start.to_string()]),
            frontier: vec![start.to_string()],
            depth: 0,
            max_depth,
            result: Vec::new(),
        }
    }

    /// The paths whose neighbours are needed next; None when the walk is over.
    pub fn frontier(&self) -> Option<&[String]> {
        (self.depth < self.max_depth && !self.frontier.is_empty()).then_some(&self.frontier[..])
    }

    /// Takes the neighbours of the current frontier and moves one hop out.
    pub fn advance(&mut self, neighbours: impl IntoIterator<Item = String>) {
        self.depth += 1;
        let mut reached: Vec<String> = neighbours
            .into_iter()
            .filter(|n| self.seen.insert(n.clone()))
            .collect();
        reached.sort();
        self.result
            .extend(reached.iter().map(|p| (p.clone(), self.depth)));
        self.frontier = reached;
    }

    pub fn finish(self) -> Vec<(String, u32)> {
        self.result
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn graph() -> HashMap<&'static str, Vec<&'static str>> {
        // a -> b -> c -> a (cycle), a -> d, d -> c
        HashMap::from([
            ("a", vec!["b", "d"]),
            ("b", vec!["c"]),
            ("c", vec!["a"]),
            ("d", vec!["c"]),
        ])
    }

    fn neighbours(frontier: &[String], forward: bool) -> Vec<String> {
        let mut out = Vec::new();
        for (source, targets) in graph() {
            for target in targets {
                let (from, to) = if forward {
                    (source, target)
                } else {
                    (target, source)
                };
                if frontier.iter().any(|f| f == from) {
                    out.push(to.to_string());
                }
            }
        }
        out
    }

    fn run_walk(start: &str, depth: u32, forward: bool) -> Vec<(String, u32)> {
        let mut walk = Walk::new(start, depth);
        while let Some(frontier) = walk.frontier() {
            let next = neighbours(frontier, forward);
            walk.advance(next);
        }
        walk.finish()
    }

    #[test]
    fn walk_forward_respects_depth_and_cycles() {
        assert_eq!(
            run_walk("a", 1, true),
            vec![("b".to_string(), 1), ("d".to_string(), 1)]
        );
        assert_eq!(
            run_walk("a", 5, true),
            vec![
                ("b".to_string(), 1),
                ("d".to_string(), 1),
                ("c".to_string(), 2)
            ]
        );
    }

    #[test]
    fn walk_backward_reports_smallest_depth() {
        // Dependents of c: b and d directly, a through both (and a is also c's target: the cycle).
        assert_eq!(
            run_walk("c", 3, false),
            vec![
                ("b".to_string(), 1),
                ("d".to_string(), 1),
                ("a".to_string(), 2)
            ]
        );
        assert_eq!(
            run_walk("c", 1, false),
            vec![("b".to_string(), 1), ("d".to_string(), 1)]
        );
    }

    #[test]
    fn walk_with_zero_depth_or_no_edges_is_empty() {
        assert!(run_walk("a", 0, true).is_empty());
        assert!(run_walk("zzz", 3, true).is_empty());
    }
}
