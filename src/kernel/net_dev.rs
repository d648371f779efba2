//! `/proc/net/dev`: two header lines, then one line per network interface
//! with sixteen counters, eight received and eight transmitted. Read by the
//! `netdev` collector and by the start-up check of the agent's network
//! namespace.

/// The sixteen counters of one `/proc/net/dev` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceCounters {
    /// Interface name.
    pub device: String,
    /// Values in the kernel's column order: bytes, packets, errs, drop,
    /// fifo, frame, compressed and multicast received, then bytes, packets,
    /// errs, drop, fifo, colls, carrier and compressed transmitted.
    pub values: [u64; 16],
}

impl InterfaceCounters {
    /// Parses `/proc/net/dev`: two header lines, then `name: 16 numbers` per
    /// interface. The name ends at the last colon (names may contain colons,
    /// and large counters may leave no space after it). Lines that are cut
    /// short or hold garbage are skipped; text with interface lines but none
    /// usable is an error.
    pub fn parse_all(text: &str) -> Result<Vec<InterfaceCounters>, String> {
        let mut interfaces = Vec::new();
        let mut skipped = 0usize;
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            if line.contains('|') {
                continue; // a header line
            }
            match InterfaceCounters::parse(line) {
                Some(parsed) => interfaces.push(parsed),
                None => skipped += 1,
            }
        }
        if interfaces.is_empty() && skipped > 0 {
            return Err(format!("none of {skipped} lines is an interface line"));
        }
        Ok(interfaces)
    }

    fn parse(line: &str) -> Option<InterfaceCounters> {
        let (name, rest) = line.rsplit_once(':')?;
        let device = name.trim();
        if device.is_empty() {
            return None;
        }
        let mut values = [0u64; 16];
        let mut fields = rest.split_whitespace();
        for value in &mut values {
            *value = fields.next()?.parse().ok()?;
        }
        Some(InterfaceCounters {
            device: device.to_string(),
            values,
        })
    }
}
