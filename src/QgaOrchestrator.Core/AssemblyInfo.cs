// The actor core: fleet, VM and channel actors live under Fleet/, Vm/ and Channel/.
[assembly: System.CLSCompliant(false)]
