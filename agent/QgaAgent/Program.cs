Console.WriteLine("qga-agent");
return 0;
