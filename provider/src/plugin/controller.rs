//! go-plugin's `plugin.GRPCController` service: Terraform's way to end a provider process.
//!
//! At the end of each phase Terraform calls `Shutdown`, then waits up to 2 s for the process
//! to exit before killing it. Answering and exiting promptly saves those 2 s per process
//! (a `plan` starts three). The handler only fires the [`ShutdownTrigger`]; the server
//! answers the call, stops accepting, drains and returns (see [`crate::plugin::serve()`]).

use tonic::{Request, Response, Status};

use super::proto::go_plugin::Empty;
use super::proto::go_plugin::grpc_controller_server::{GrpcController, GrpcControllerServer};
use super::shutdown::{ShutdownReason, ShutdownTrigger};

/// The `GRPCController` implementation.
#[derive(Debug, Clone)]
pub(crate) struct Controller {
    trigger: ShutdownTrigger,
}

impl Controller {
    /// A controller that fires `trigger` when Terraform asks for a shutdown.
    pub(crate) fn new(trigger: ShutdownTrigger) -> Self {
        Self { trigger }
    }

    /// The controller wrapped as a gRPC service, ready for the router.
    pub(crate) fn into_service(self) -> GrpcControllerServer<Self> {
        GrpcControllerServer::new(self)
    }
}

#[tonic::async_trait]
impl GrpcController for Controller {
    async fn shutdown(&self, _request: Request<Empty>) -> Result<Response<Empty>, Status> {
        tracing::debug!("GRPCController.Shutdown called; shutting down");
        self.trigger.trigger(ShutdownReason::ControllerShutdown);
        Ok(Response::new(Empty {}))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugin::shutdown;

    #[tokio::test]
    async fn shutdown_call_triggers_the_server_shutdown() {
        let (trigger, signal) = shutdown::channel();
        let controller = Controller::new(trigger);
        controller.shutdown(Request::new(Empty {})).await.unwrap();
        assert_eq!(signal.reason(), Some(ShutdownReason::ControllerShutdown));
    }
}
