// Package interceptors authenticates and authorises every RPC a Tollgate
// service serves.
//
// An [Authenticator] pairs a unary and a stream server interceptor. Each call
// must carry exactly one `authorization: Bearer <token>` metadata value; the
// token is checked by a [TokenVerifier] (package verify), and the verified
// claims must grant every scope that the method's policy names. Policies live
// in the proto files, as the tollgate.auth.v1 method_policy and
// service_policy options (the method option replaces the service one).
//
// Deny by default: [Authenticator.Check] fails when any method registered on
// the server has no policy, so a service cannot start with an open door, and
// a call to a method without a policy is refused.
//
// Refusals use Unauthenticated (no token, or a bad one) and PermissionDenied
// (a good token without the scope), each with a google.rpc.ErrorInfo detail
// naming the reason. No message ever contains the token.
//
// Handlers read the caller with [PrincipalFrom].
package interceptors
