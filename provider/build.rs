//! Build script: compiles `proto/*.proto` into Rust with `protox` (a pure-Rust protobuf
//! compiler, so no system `protoc` is needed) and `tonic-prost-build`.
//!
//! Only server code is generated, with default stubs: an RPC the provider does not override
//! answers gRPC `UNIMPLEMENTED`, which Terraform tolerates for calls it does not need.

use std::error::Error;

/// The protos, relative to the include directory `proto/`.
const PROTOS: [&str; 2] = ["tfplugin5.proto", "grpc_controller.proto"];

fn main() -> Result<(), Box<dyn Error>> {
    for proto in PROTOS {
        println!("cargo:rerun-if-changed=proto/{proto}");
    }
    println!("cargo:rerun-if-changed=build.rs");

    let descriptors = protox::compile(PROTOS, ["proto"])?;
    tonic_prost_build::configure()
        .build_client(false)
        .build_server(true)
        .generate_default_stubs(true)
        .compile_fds(descriptors)?;
    Ok(())
}
