//! The parser of the PCI ID database (pci.ids) and its lookups: no input may make them panic.
#![no_main]
hostwatch_fuzz::parser_target!(|text| {
    let ids = hostwatch::collectors::pcidevice::pci_ids::PciIds::parse(text);
    (
        ids.vendor_name(0x8086),
        ids.device_name(0x8086, 0x1572),
        ids.subsystem_name(0x8086, 0x1572, 0x8086, 0x0001),
        ids.class_name(0x010802),
        ids.class_name(u32::MAX),
    )
});
