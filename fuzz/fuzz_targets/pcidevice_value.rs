//! The parsers of PCI device sysfs values (location, link target, IDs, link speed and width): no input may make them panic.
#![no_main]
hostwatch_fuzz::parser_target!(|text| {
    use hostwatch::collectors::pcidevice as pci;
    (
        pci::PciLocation::parse(text),
        pci::parse_link_target(text),
        pci::parse_id(text),
        pci::parse_link_speed(text),
        pci::parse_link_width(text),
        pci::parse_decimal(text),
    )
});
