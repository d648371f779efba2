//! The readers of drm and nvmesubsystem sysfs names and values (cards, drivers, chips, controllers, namespaces, path states): no input may make them panic.
#![no_main]
hostwatch_fuzz::parser_target!(|text| {
    use hostwatch::collectors::{drm, nvmesubsystem};
    (
        drm::is_card(text),
        drm::is_amdgpu(text),
        drm::parse_value(text),
        drm::chip_name(std::path::Path::new(text)),
        nvmesubsystem::is_controller(text),
        nvmesubsystem::is_namespace(text),
        nvmesubsystem::path_state(text),
    )
});
