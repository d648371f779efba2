//! Locking that goes on past a panic elsewhere.
//!
//! A collector that panics is caught and reported as failed, and the agent
//! goes on; a mutex it held is then poisoned. Every mutex here guards data
//! that is consistent at each unlock (caches, counters, queues), so the next
//! user takes the data as it is rather than failing too.
//!
//! May import: the standard library only.

use std::sync::{Mutex, MutexGuard, PoisonError};

/// Locks `mutex`, poisoned or not.
pub fn lock<T: ?Sized>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_poisoned_mutex_still_locks_with_its_data() {
        let mutex = Mutex::new(41);
        let _ = std::panic::catch_unwind(|| {
            let mut guard = mutex.lock().unwrap();
            *guard += 1;
            panic!("poisons the mutex");
        });
        assert!(mutex.is_poisoned());
        assert_eq!(*lock(&mutex), 42);
    }
}
