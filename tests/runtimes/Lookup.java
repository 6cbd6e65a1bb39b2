// InetAddress.getAllByName per name: prints "NAME ADDR...".
import java.net.InetAddress;

public class Lookup {
    public static void main(String[] args) {
        for (String n : args) {
            StringBuilder sb = new StringBuilder(n);
            try {
                for (InetAddress a : InetAddress.getAllByName(n)) {
                    sb.append(' ').append(a.getHostAddress());
                }
            } catch (Exception e) {
                sb.append(" !ERR ").append(e.getClass().getSimpleName());
            }
            System.out.println(sb);
        }
    }
}
